DROP TABLE idempotency_keys;
DROP TABLE stock_movements;
DROP TABLE stock_lots;
DROP TABLE nutrition_flags;
DROP TABLE nutrition_events;
