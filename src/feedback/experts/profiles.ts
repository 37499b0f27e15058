import { NotFound, ValidationFailed } from '../../errors.ts';
import { constraintError } from '../constraints.ts';
import type { Db } from '../../db/pool.ts';
import { nulErrors } from '../nulErrors.ts';
import { DEFAULT_TRUST_SCORE, type Expert, type ExpertInput, type ExpertPatch } from './schema.ts';

const COLUMNS = `id, user_ref, credential_type, registration_number, trust_score, is_active, specializations,
  created_at, updated_at`;

interface ExpertDbRow extends Omit<Expert, 'created_at' | 'updated_at'> {
  created_at: Date;
  updated_at: Date;
}

function toExpert(r: ExpertDbRow): Expert {
  return { ...r, created_at: r.created_at.toISOString(), updated_at: r.updated_at.toISOString() };
}

function refuseNul(record: Readonly<Record<string, unknown>>): void {
  const errors = nulErrors(record);
  if (errors.length > 0) throw new ValidationFailed(errors);
}

/** Creates an expert profile; 409 when user_ref, or the registration number within its register, is taken. */
export async function createExpert(db: Db, input: ExpertInput): Promise<Expert> {
  refuseNul(input);
  try {
    const { rows } = await db.query<ExpertDbRow>(
      `insert into expert_profiles (user_ref, credential_type, registration_number, trust_score, is_active, specializations)
       values ($1::text, $2::text, $3::text, $4::numeric, $5::boolean, $6::text[])
       returning ${COLUMNS}`,
      [
        input.user_ref,
        input.credential_type,
        input.registration_number ?? null,
        input.trust_score ?? DEFAULT_TRUST_SCORE,
        input.is_active ?? true,
        input.specializations ?? [],
      ],
    );
    return toExpert(rows[0]!);
  } catch (error) {
    throw constraintError(error);
  }
}

export async function getExpert(db: Db, id: string): Promise<Expert> {
  const { rows } = await db.query<ExpertDbRow>(`select ${COLUMNS} from expert_profiles where id = $1::uuid`, [id]);
  if (!rows[0]) throw new NotFound(`Expert ${id} does not exist.`);
  return toExpert(rows[0]);
}

/**
 * Updates the fields present in the patch, in one static statement: `$2::jsonb ? 'field'` tells "absent" from
 * "set to null", so no SQL is built from input. A new trust_score applies to feedback recorded from now on.
 */
export async function patchExpert(db: Db, id: string, patch: ExpertPatch): Promise<Expert> {
  refuseNul(patch);
  try {
    const { rows } = await db.query<ExpertDbRow>(
      `update expert_profiles set
         credential_type = case when $2::jsonb ? 'credential_type' then $2::jsonb ->> 'credential_type' else credential_type end,
         registration_number = case when $2::jsonb ? 'registration_number'
           then $2::jsonb ->> 'registration_number' else registration_number end,
         trust_score = case when $2::jsonb ? 'trust_score' then ($2::jsonb ->> 'trust_score')::numeric else trust_score end,
         is_active = case when $2::jsonb ? 'is_active' then ($2::jsonb ->> 'is_active')::boolean else is_active end,
         specializations = case when $2::jsonb ? 'specializations'
           then array(select jsonb_array_elements_text($2::jsonb -> 'specializations')) else specializations end
       where id = $1::uuid
       returning ${COLUMNS}`,
      [id, JSON.stringify(patch)],
    );
    if (!rows[0]) throw new NotFound(`Expert ${id} does not exist.`);
    return toExpert(rows[0]);
  } catch (error) {
    throw constraintError(error);
  }
}

/** The experts named by a batch of feedback: trust score and whether they may record feedback. */
export async function expertStates(
  db: Db,
  ids: readonly string[],
): Promise<Map<string, { trustScore: number; isActive: boolean }>> {
  if (ids.length === 0) return new Map();
  // for key share: the profile cannot be deleted while the feedback referencing it is written (the FK takes the
  // same lock); trust_score may still change, and the value read here is the one recorded on the candidate.
  const { rows } = await db.query<{ id: string; trust_score: number; is_active: boolean }>(
    'select id, trust_score, is_active from expert_profiles where id = any($1::uuid[]) for key share',
    [[...new Set(ids)]],
  );
  return new Map(rows.map((r) => [r.id, { trustScore: r.trust_score, isActive: r.is_active }]));
}
