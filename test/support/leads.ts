import { getDb } from "../../app/lib/db.server";

export interface SeedLead {
  email: string;
  productId?: string;
  productTitle?: string;
  capturedAt?: Date;
  utmSource?: string;
}

/** Inserts leads (and their tried products) for a shop directly, as capture would have stored them. */
export async function seedLeads(shopId: string, leads: SeedLead[]) {
  const db = getDb();
  const rows = leads.map((l, i) => ({
    shopId,
    email: l.email,
    emailSearch: l.email.normalize("NFC").toLowerCase(),
    productId: l.productId ?? "p1",
    productTitle: l.productTitle ?? "Aviator frames",
    productUrl: `https://store.example/products/${l.productId ?? "p1"}`,
    consent: true,
    utmSource: l.utmSource ?? null,
    capturedAt: l.capturedAt ?? new Date(Date.UTC(2026, 0, 1) + i * 60_000),
  }));
  await db.lead.createMany({ data: rows });
  const products = new Map(rows.map((r) => [r.productId, r]));
  for (const p of products.values()) {
    await db.triedProduct.upsert({
      where: { shopId_productId: { shopId, productId: p.productId } },
      create: { shopId, productId: p.productId, title: p.productTitle, url: p.productUrl },
      update: {},
    });
  }
}
