WITH spine AS (
  SELECT
    CAST(s.p AS DATE) AS _period
  FROM GENERATE_SERIES(
    CAST('2023-12-17 00:00:00' AS TIMESTAMP),
    CAST('2024-12-29 00:00:00' AS TIMESTAMP),
    INTERVAL '7 DAY'
  ) AS s(p)
), spine_prev AS (
  SELECT
    "_period",
    LAG("_period") OVER (ORDER BY "_period") AS _prev
  FROM spine
), src0_orders_active AS (
  SELECT DISTINCT
    CAST(DATE_TRUNC('WEEK', "ordered_at" - INTERVAL '6 DAY') + INTERVAL '6 DAY' AS DATE) AS _period,
    "customer_id" AS _entity
  FROM "orders"
  WHERE
    (
      "ordered_at" >= CAST('2023-12-17 00:00:00' AS TIMESTAMP)
      AND "ordered_at" < CAST('2025-01-05 00:00:00' AS TIMESTAMP)
    )
    AND NOT "customer_id" IS NULL
    AND (
      status IS NULL OR NOT status IN ('cancelled', 'refunded')
    )
), src0_orders AS (
  SELECT
    "s"."_period" AS _period,
    COUNT(*) AS _l0,
    COUNT("c"."_entity") AS _l1
  FROM spine_prev AS s
  JOIN src0_orders_active AS p
    ON "p"."_period" = "s"."_prev"
  LEFT JOIN src0_orders_active AS c
    ON "c"."_period" = "s"."_period" AND "c"."_entity" = "p"."_entity"
  GROUP BY
    1
), src1_orders AS (
  SELECT
    CAST(DATE_TRUNC('WEEK', "ordered_at" - INTERVAL '6 DAY') + INTERVAL '6 DAY' AS DATE) AS _period,
    SUM(total_amount) FILTER(WHERE
      status IS NULL OR NOT status IN ('cancelled', 'refunded')) AS _l2
  FROM "orders"
  WHERE
    "ordered_at" >= CAST('2023-12-17 00:00:00' AS TIMESTAMP)
    AND "ordered_at" < CAST('2025-01-05 00:00:00' AS TIMESTAMP)
  GROUP BY
    1
), base AS (
  SELECT
    "spine"."_period",
    COALESCE("src0_orders"."_l0", 0) AS _l0,
    COALESCE("src0_orders"."_l1", 0) AS _l1,
    COALESCE("src1_orders"."_l2", 0) AS _l2
  FROM spine
  LEFT JOIN src0_orders
    ON "src0_orders"."_period" = "spine"."_period"
  LEFT JOIN src1_orders
    ON "src1_orders"."_period" = "spine"."_period"
), stage1 AS (
  SELECT
    *,
    CAST("_l1" AS DOUBLE PRECISION) / NULLIF("_l0", 0) AS "customer_retention",
    "_l2" AS "revenue"
  FROM base
), stage2 AS (
  SELECT
    *,
    SUM("revenue") OVER (ORDER BY "_period" ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) AS "revenue_rolling_3"
  FROM stage1
)
SELECT
  "_period" AS "period",
  "customer_retention",
  "revenue_rolling_3"
FROM stage2
WHERE
  "_period" >= CAST('2023-12-31' AS DATE)
ORDER BY
  "period"
