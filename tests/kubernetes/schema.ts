// The manifest tests validate with the same offline schema check the
// manifest-review skill applies to what it is sent.
export { checkSchema, modelFor, schemaProblems } from '../../src/skills/manifest-review/schema.js';
