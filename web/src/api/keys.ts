import type { components } from "./schema";
import { api, unwrap } from "./client";

export type ApiKey = components["schemas"]["KeyOut"];
export type CreatedKey = components["schemas"]["KeyCreated"];
export type Role = components["schemas"]["Role"];

export const ROLES: readonly Role[] = ["viewer", "uploader", "admin"];

export const keyKeys = { all: ["keys"] as const };

export async function listKeys(): Promise<ApiKey[]> {
  return (await unwrap(api.GET("/api/v1/keys"))).items;
}

/** The answer carries the secret: the only time the API ever shows it. */
export function createKey(name: string, role: Role): Promise<CreatedKey> {
  return unwrap(api.POST("/api/v1/keys", { body: { name, role } }));
}

export async function revokeKey(id: string): Promise<void> {
  await unwrap(api.DELETE("/api/v1/keys/{key_id}", { params: { path: { key_id: id } } }));
}
