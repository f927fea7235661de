-- The head of the hash chain starts as one row of zeros; sealing a batch locks and advances it.
INSERT INTO "chain_head" ("id", "seq", "head") VALUES (1, 0, repeat('0', 64)) ON CONFLICT DO NOTHING;
