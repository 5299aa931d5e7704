/** The extension's package.json, typed for the tests. */

import manifest from "../package.json";

export interface Property {
  type: string | string[];
  default: unknown;
  description: string;
  scope?: string;
  enum?: string[];
  minimum?: number;
  maximum?: number;
  items?: { type: string };
}

export const properties = manifest.contributes.configuration.properties as unknown as Record<string, Property>;
export const contributedCommands = manifest.contributes.commands;
export { manifest };
