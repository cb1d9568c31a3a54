// Writes schemas/skills.schema.json from the skills file's schema (src/config/skills-file.ts),
// the one definition; tests/config/skills-file.test.ts fails while the committed file differs.
// Run after a build: node scripts/skills-schema.mjs
import { writeFileSync } from 'node:fs';
import { skillsFileJsonSchema } from '../dist/src/config/skills-file.js';

writeFileSync(new URL('../schemas/skills.schema.json', import.meta.url), `${JSON.stringify(skillsFileJsonSchema(), null, 2)}\n`);
