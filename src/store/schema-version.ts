/**
 * Refuses a database whose schema is newer than this build's migrations:
 * running older code on a newer schema could corrupt what the newer code wrote.
 */
export function refuseNewerSchema(database: string, applied: number, known: number): void {
  if (applied > known) {
    throw new Error(`${database} has schema version ${applied}; this build knows up to ${known} (was it written by a newer kagent-a2a?)`);
  }
}
