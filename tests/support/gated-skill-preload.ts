// Loaded with `--import` into a spawned service (see GATED_SERVICE_ENV in
// gate.ts): the service then offers the gated skill beside its own.
import { installGatedSkill } from './gated-skill.js';

installGatedSkill();
