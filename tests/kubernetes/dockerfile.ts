// The Dockerfile, read as instructions grouped by stage, for tests that hold
// it against the manifests and the code.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './manifests.js';

export interface Instruction {
  /** 0 for the first FROM's stage. */
  stage: number;
  keyword: string;
  args: string;
}

export interface Dockerfile {
  instructions: Instruction[];
  /** The last stage: what the image is. */
  runtime: Instruction[];
  /** The ENV of the runtime stage. */
  runtimeEnv: Record<string, string>;
  /** The stage named by `FROM … AS name`. */
  stageNamed(name: string): Instruction[];
}

export function readDockerfile(path = join(REPO_ROOT, 'Dockerfile')): Dockerfile {
  const instructions: Instruction[] = [];
  let stage = -1;
  for (const line of readFileSync(path, 'utf8')
    .replace(/\\\r?\n/g, ' ')
    .split(/\r?\n/)) {
    const text = line.trim();
    if (text === '' || text.startsWith('#')) continue;
    const [keyword, ...rest] = text.split(/\s+/);
    if (keyword!.toUpperCase() === 'FROM') stage += 1;
    instructions.push({ stage, keyword: keyword!.toUpperCase(), args: rest.join(' ') });
  }
  const runtime = instructions.filter((i) => i.stage === stage);
  const runtimeEnv: Record<string, string> = {};
  for (const { args } of runtime.filter((i) => i.keyword === 'ENV')) {
    for (const match of args.matchAll(/(\w+)=("[^"]*"|\S+)/g)) runtimeEnv[match[1]!] = match[2]!.replace(/^"|"$/g, '');
  }
  const stageNamed = (name: string) => {
    const from = instructions.find((i) => i.keyword === 'FROM' && new RegExp(`\\sAS\\s+${name}$`, 'i').test(i.args));
    return from === undefined ? [] : instructions.filter((i) => i.stage === from.stage);
  };
  return { instructions, runtime, runtimeEnv, stageNamed };
}
