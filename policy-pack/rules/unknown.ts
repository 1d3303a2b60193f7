/**
 * A value that is not known yet: during `pulumi preview`, an input computed from another
 * resource's outputs (a bucket ARN, a policy ARN) is only known once that resource exists.
 *
 * The rules never see Pulumi's own representation (sentinel strings behind a proxy that throws on
 * access); the policy adapter replaces each such value with an `Unknown` first, so the rules stay
 * free of Pulumi and can still check every part of a document that is known.
 */
export class Unknown {
  /** @param path where the value sits in the resource's properties, e.g. `inlinePolicies[0].policy` */
  constructor(readonly path: string) {}

  toString(): string {
    return `<unknown ${this.path}>`;
  }
}

export function isUnknown(value: unknown): value is Unknown {
  return value instanceof Unknown;
}
