import { InvalidParamsError } from '../model/errors.js';

/** Where a newest-first listing resumes: after this (status time, id) pair. */
export interface PageCursor {
  updatedAt: number;
  id: string;
}

export function encodePageToken(cursor: PageCursor): string {
  return Buffer.from(JSON.stringify([cursor.updatedAt, cursor.id])).toString('base64url');
}

export function decodePageToken(token: string): PageCursor {
  try {
    const value: unknown = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    if (Array.isArray(value) && value.length === 2 && Number.isSafeInteger(value[0]) && typeof value[1] === 'string') {
      return { updatedAt: value[0] as number, id: value[1] };
    }
  } catch {
    // fall through: any undecodable token is the caller's mistake
  }
  throw new InvalidParamsError('params.pageToken is not a token this server issued', 'params.pageToken');
}
