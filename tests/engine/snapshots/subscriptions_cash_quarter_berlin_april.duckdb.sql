WITH spine AS (
  SELECT
    CAST(s.p AS DATE) AS _period
  FROM GENERATE_SERIES(
    CAST('2023-10-01 00:00:00' AS TIMESTAMP),
    CAST('2024-10-01 00:00:00' AS TIMESTAMP),
    INTERVAL '3' MONTH
  ) AS s(p)
), spine_prev AS (
  SELECT
    "_period",
    LAG("_period") OVER (ORDER BY "_period") AS _prev
  FROM spine
), src0_subscriptions_active AS (
  SELECT DISTINCT
    "s"."_period" AS _period,
    "subscription_id" AS _entity
  FROM spine AS s
  JOIN "subscriptions"
    ON (
      (
        "started_at" AT TIME ZONE 'UTC'
      ) AT TIME ZONE 'Europe/Berlin'
    ) < "s"."_period" + INTERVAL '3' MONTH
    AND (
      (
        (
          "ended_at" AT TIME ZONE 'UTC'
        ) AT TIME ZONE 'Europe/Berlin'
      ) IS NULL
      OR (
        (
          "ended_at" AT TIME ZONE 'UTC'
        ) AT TIME ZONE 'Europe/Berlin'
      ) >= "s"."_period" + INTERVAL '3' MONTH
    )
), src0_subscriptions AS (
  SELECT
    "s"."_period" AS _period,
    COUNT(*) AS _l0,
    COUNT("c"."_entity") AS _l1
  FROM spine_prev AS s
  JOIN src0_subscriptions_active AS p
    ON "p"."_period" = "s"."_prev"
  LEFT JOIN src0_subscriptions_active AS c
    ON "c"."_period" = "s"."_period" AND "c"."_entity" = "p"."_entity"
  GROUP BY
    1
), src1_inventory_snapshots AS (
  SELECT
    "_period",
    SUM("_v0") AS _l2
  FROM (
    SELECT
      *,
      MAX("_t") OVER (PARTITION BY "_period") AS _latest
    FROM (
      SELECT
        CAST(DATE_TRUNC('QUARTER', "snapshot_date") AS DATE) AS _period,
        "snapshot_date" AS _t,
        on_hand_value AS _v0
      FROM "inventory_snapshots"
      WHERE
        "snapshot_date" >= CAST('2023-10-01 00:00:00' AS TIMESTAMP)
        AND "snapshot_date" < CAST('2025-01-01 00:00:00' AS TIMESTAMP)
    ) AS _rows
  ) AS _ranked
  WHERE
    _t = _latest
  GROUP BY
    "_period"
), src2_inventory_snapshots AS (
  SELECT
    "_period",
    SUM("_v0") AS _l3
  FROM (
    SELECT
      *,
      MAX("_t") OVER (PARTITION BY "_period", "_entity") AS _latest
    FROM (
      SELECT
        CAST(DATE_TRUNC('QUARTER', "snapshot_date") AS DATE) AS _period,
        "product_id" AS _entity,
        "snapshot_date" AS _t,
        on_hand_qty AS _v0
      FROM "inventory_snapshots"
      WHERE
        "snapshot_date" >= CAST('2023-10-01 00:00:00' AS TIMESTAMP)
        AND "snapshot_date" < CAST('2025-01-01 00:00:00' AS TIMESTAMP)
    ) AS _rows
  ) AS _ranked
  WHERE
    _t = _latest
  GROUP BY
    "_period"
), src3_cash_transactions AS (
  SELECT
    CAST(DATE_TRUNC('QUARTER', "date") AS DATE) AS _period,
    SUM(CASE WHEN direction = 'in' THEN amount ELSE -amount END) AS _l4
  FROM "cash_transactions"
  WHERE
    "date" >= CAST('2023-10-01 00:00:00' AS TIMESTAMP)
    AND "date" < CAST('2025-01-01 00:00:00' AS TIMESTAMP)
  GROUP BY
    1
), src4_cash_transactions AS (
  SELECT
    SUM(CASE WHEN direction = 'in' THEN amount ELSE -amount END) AS _l5
  FROM "cash_transactions"
  WHERE
    "date" < CAST('2023-10-01 00:00:00' AS TIMESTAMP)
), base AS (
  SELECT
    "spine"."_period",
    COALESCE("src0_subscriptions"."_l0", 0) AS _l0,
    COALESCE("src0_subscriptions"."_l1", 0) AS _l1,
    "src1_inventory_snapshots"."_l2" AS _l2,
    "src2_inventory_snapshots"."_l3" AS _l3,
    COALESCE("src3_cash_transactions"."_l4", 0) AS _l4,
    COALESCE("src4_cash_transactions"."_l5", 0) AS _l5
  FROM spine
  LEFT JOIN src0_subscriptions
    ON "src0_subscriptions"."_period" = "spine"."_period"
  LEFT JOIN src1_inventory_snapshots
    ON "src1_inventory_snapshots"."_period" = "spine"."_period"
  LEFT JOIN src2_inventory_snapshots
    ON "src2_inventory_snapshots"."_period" = "spine"."_period"
  LEFT JOIN src3_cash_transactions
    ON "src3_cash_transactions"."_period" = "spine"."_period"
  LEFT JOIN src4_cash_transactions
    ON TRUE
), stage1 AS (
  SELECT
    *,
    1 - CAST("_l1" AS DOUBLE) / NULLIF("_l0", 0) AS "subscription_churn",
    "_l2" AS "inventory_value",
    "_l3" AS "stock_on_hand",
    "_l4" AS "net_cash_flow"
  FROM base
), stage2 AS (
  SELECT
    *,
    COALESCE("_l5", 0) + SUM("net_cash_flow") OVER (ORDER BY "_period" ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS "cash_balance"
  FROM stage1
)
SELECT
  "_period" AS "period",
  "subscription_churn",
  "inventory_value",
  "stock_on_hand",
  "cash_balance"
FROM stage2
WHERE
  "_period" >= CAST('2024-01-01' AS DATE)
ORDER BY
  "period"
