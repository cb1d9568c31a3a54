// A skill of your own, as SKILL_MODULES loads it: the module's default export
// is a skill (or a list of skills) of the interface in 'kagent-a2a/skill'.
// Plain JavaScript, no build step; the JSDoc type lets an editor check it.

/** Longest name greeted: caller input is bounded, like everything else. */
const MAX_NAME = 100;

/** @type {import('kagent-a2a/skill').Skill} */
const hello = {
  descriptor: {
    id: 'hello',
    name: 'Hello',
    description: 'Greets the name it is sent; asks for one when the message holds none.',
    tags: ['example'],
    examples: ['Ada'],
  },
  async execute(ctx) {
    const name = ctx.message.parts
      .flatMap((part) => (part.kind === 'text' ? [part.text] : []))
      .join(' ')
      .trim();
    if (name === '') {
      // The task waits in input-required; the caller's next message on this task runs execute again.
      await ctx.requireInput('Whom shall I greet?');
      return;
    }
    if (name.length > MAX_NAME) {
      await ctx.reject(`a name of at most ${MAX_NAME} characters, please (this one has ${name.length})`);
      return;
    }
    await ctx.working(`greeting ${name}`);
    ctx.log.info('greeting', { nameLength: name.length });
    if (ctx.signal.aborted) return;
    await ctx.artifact({ artifactId: 'greeting', name: 'greeting', parts: [{ kind: 'text', text: `Hello, ${name}!` }] }, { lastChunk: true });
    await ctx.complete();
  },
};

export default hello;
