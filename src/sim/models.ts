/**
 * `GET /<origin>/v1/models`: the origin's configured models, as OpenAI lists them.
 */
import type { OriginState } from "./context";
import { PROFILE_SPECS } from "./profiles";

/** The model list of an origin. */
export function handleModels(origin: OriginState): Response {
  const ownedBy = PROFILE_SPECS[origin.config.profile].ownedBy;
  return Response.json({
    object: "list",
    data: origin.config.models.map((id) => ({ id, object: "model", created: 0, owned_by: ownedBy })),
  });
}
