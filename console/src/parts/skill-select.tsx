/** A labelled choice of one of the agent's skills, or none (`noneLabel`: "any" to filter, "auto" to let the agent route). */
export function SkillSelect({ value, onChange, skills, noneLabel }: { value: string; onChange: (skill: string) => void; skills: string[]; noneLabel: string }) {
  return (
    <label>
      Skill
      <select value={value} onChange={(e) => onChange(e.currentTarget.value)}>
        <option value="">{noneLabel}</option>
        {skills.map((s) => (
          <option key={s} value={s}>
            {s}
          </option>
        ))}
      </select>
    </label>
  );
}
