-- AlterTable
-- Plain ADD COLUMNs (not a table rebuild): dropping and re-creating "Lead" inside a transaction would
-- cascade-delete every delivery and attempt, because SQLite ignores PRAGMA foreign_keys=OFF there.
ALTER TABLE "Lead" ADD COLUMN "taggingState" TEXT NOT NULL DEFAULT 'pending';
ALTER TABLE "Lead" ADD COLUMN "taggingError" TEXT;

-- Leads already tagged are done. The others stay pending, so the tagging reconciler finally tags the
-- shoppers whose tagging job was lost.
UPDATE "Lead" SET "taggingState" = 'done' WHERE "tagged" = true;

-- CreateIndex
CREATE INDEX "Lead_taggingState_capturedAt_idx" ON "Lead"("taggingState", "capturedAt");
