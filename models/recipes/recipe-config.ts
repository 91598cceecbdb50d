/**
 * A recipe's training configs with fields replaced by dotted path: `train:defaults --set` and the
 * recipe's own stages (defaults.ts) both use it.
 */
import type { DefaultRecipe } from './defaults.js';

/** A copy of `config` with `dotted.path` set to `value`. */
export function withField(config: Record<string, unknown>, dotted: string, value: unknown): Record<string, unknown> {
  const [head, ...rest] = dotted.split('.');
  if (!head) throw new Error(`--set: empty field path`);
  const current = config[head];
  if (rest.length === 0) return { ...config, [head]: value };
  if (typeof current !== 'object' || current === null) throw new Error(`--set ${dotted}: ${head} is not an object in the recipe`);
  return { ...config, [head]: withField(current as Record<string, unknown>, rest.join('.'), value) };
}

/** The recipe with `config` fields replaced (dotted paths). */
export function withFields(base: DefaultRecipe, fields: [string, unknown][]): DefaultRecipe {
  let config = base.config as Record<string, unknown>;
  for (const [field, value] of fields) config = withField(config, field, value);
  return { ...base, config: config as DefaultRecipe['config'] };
}

/** The config of each training stage, in order: the recipe's config, then each stage's fields over it. */
export function stageConfigs(recipe: DefaultRecipe): DefaultRecipe['config'][] {
  return [recipe, ...(recipe.stages ?? []).map((s) => withFields(recipe, Object.entries(s.set)))].map((r) => r.config);
}
