/** This build's version, advertised in the agent card; a test keeps it equal to package.json's. */
export const VERSION = '0.1.0';
