/** The simulator's JSON Schema instances: exact, deterministic, fitting the subset real tools use, bounded. */
import { describe, expect, it } from "vitest";
import { schemaInstance, VOCABULARY } from "../../src/sim";

const WEATHER = {
  type: "object",
  properties: {
    city: { type: "string", description: "City name" },
    unit: { type: "string", enum: ["celsius", "fahrenheit"] },
    days: { type: "integer", minimum: 1, maximum: 7 },
    detailed: { type: "boolean" },
    when: { type: "string", format: "date-time" },
    tags: { type: "array", items: { type: "string" }, minItems: 2, maxItems: 2 },
    note: { type: ["string", "null"] },
    ratio: { type: "number", exclusiveMinimum: 0, exclusiveMaximum: 1 },
  },
  required: ["city", "unit", "days"],
};

describe("schemaInstance", () => {
  it("fills every property in order, seeded: the same seed gives the same value, another seed another", () => {
    expect(schemaInstance(WEATHER, 1)).toEqual({
      city: "simulated",
      unit: "celsius",
      days: 4,
      detailed: false,
      when: "2024-01-01T00:00:00Z",
      tags: ["pool", "edge"],
      note: "delta",
      ratio: 0.5,
    });
    expect(schemaInstance(WEATHER, 1)).toEqual(schemaInstance(WEATHER, 1));
    expect(schemaInstance(WEATHER, 2)).toEqual({
      city: "of",
      unit: "celsius",
      days: 2,
      detailed: false,
      when: "2024-01-01T00:00:00Z",
      tags: ["block", "simulated"],
      note: "lazy",
      ratio: 0.5,
    });
  });

  it("fits the constraints over many seeds", () => {
    for (let seed = 0; seed < 200; seed++) {
      const v = schemaInstance(WEATHER, seed) as Record<string, unknown>;
      expect(Object.keys(v)).toEqual(Object.keys(WEATHER.properties));
      expect(["celsius", "fahrenheit"]).toContain(v.unit);
      expect(Number.isInteger(v.days) && (v.days as number) >= 1 && (v.days as number) <= 7).toBe(true);
      expect(VOCABULARY).toContain(v.city);
      expect(v.tags).toHaveLength(2);
      expect(typeof v.note).toBe("string"); // the first type that is not null
    }
  });

  it("follows $ref into $defs, takes the non-null branch of anyOf, merges allOf, honours const, default and string lengths", () => {
    const schema = {
      $defs: {
        Item: {
          type: "object",
          properties: {
            sku: { type: "string", minLength: 12, maxLength: 12 },
            qty: { anyOf: [{ type: "null" }, { type: "integer", minimum: 5, maximum: 5 }] },
          },
          required: ["sku", "qty"],
        },
      },
      type: "object",
      properties: {
        items: { type: "array", items: { $ref: "#/$defs/Item" } },
        mode: { const: "fast" },
        size: { default: 3, type: "integer" },
        merged: { allOf: [{ type: "object", properties: { a: { type: "boolean" } } }, { properties: { b: { type: "null" } }, required: ["b"] }] },
      },
      required: ["items"],
    };
    expect(schemaInstance(schema, 1)).toEqual({
      items: [{ sku: "simulated th", qty: 5 }],
      mode: "fast",
      size: 3,
      merged: { a: false, b: null },
    });
  });

  it("formats: uuid, and a number range that holds no integer gives its middle", () => {
    expect(schemaInstance({ type: "string", format: "uuid" }, 1)).toBe("a087eaf3-00b3-49c9-a706-c4ebfb2627fd");
    expect(schemaInstance({ type: "string", format: "email" }, 1)).toBe("simulated@example.com");
    expect(schemaInstance({ type: "number", minimum: 0.25, maximum: 0.75 }, 1)).toBe(0.5);
    expect(schemaInstance({ type: "integer", maximum: -5 }, 1)).toBe(-42);
  });

  it("keeps a property named __proto__ as a property", () => {
    const schema: unknown = JSON.parse('{"type":"object","properties":{"__proto__":{"const":1}}}');
    expect(JSON.stringify(schemaInstance(schema, 1))).toBe('{"__proto__":1}');
  });

  it("stays bounded on recursive, cyclic and huge schemas", () => {
    // A tree: nesting stops at depth 8 with the smallest value of the type.
    const tree = { type: "object", properties: { name: { type: "string" }, children: { type: "array", items: { $ref: "#" } } }, required: ["name", "children"] };
    expect(JSON.stringify(schemaInstance(tree, 1))).toBe(
      '{"name":"simulated","children":[{"name":"the","children":[{"name":"alpha","children":[{"name":"queue","children":[{}]}]}]}]}',
    );
    // Three required self-references per level would be 3^8 objects; the value budget stops it.
    const wide = { type: "object", properties: { a: { $ref: "#" }, b: { $ref: "#" }, c: { $ref: "#" } }, required: ["a", "b", "c"] };
    expect(JSON.stringify(schemaInstance(wide, 1)).length).toBe(3482);
    // A $ref cycle that never reaches a type ends after 16 hops (and is a string, having no type).
    expect(schemaInstance({ $ref: "#/a", a: { $ref: "#/b" }, b: { $ref: "#/a" } }, 1)).toBe("simulated");
    expect((schemaInstance({ type: "string", minLength: 1e9 }, 1) as string).length).toBe(4096);
    expect(schemaInstance({ type: "array", minItems: 1e9, items: { type: "integer", minimum: 1e300 } }, 1)).toEqual([1e300, 1e300, 1e300]);
  });

  it("anything that is not a schema gives a string", () => {
    expect(schemaInstance("junk", 1)).toBe("simulated");
    expect(schemaInstance(null, 1)).toBe("simulated");
  });
});
