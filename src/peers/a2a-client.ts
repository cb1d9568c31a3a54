// The A2A client lives in ./client/; this module keeps the older import path working.
export * from './client/index.js';
