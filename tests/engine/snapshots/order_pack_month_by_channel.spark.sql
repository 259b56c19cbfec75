WITH spine AS (
  SELECT
    CAST(s.p AS DATE) AS _period
  FROM (
    SELECT
      EXPLODE(
        SEQUENCE(
          CAST('2023-01-01 00:00:00' AS TIMESTAMP),
          CAST('2024-12-01 00:00:00' AS TIMESTAMP),
          INTERVAL '1' MONTH
        )
      ) AS p
  ) AS s
), spine_prev AS (
  SELECT
    `_period`,
    LAG(`_period`) OVER (ORDER BY `_period`) AS _prev
  FROM spine
), src0_orders AS (
  SELECT
    CAST(DATE_TRUNC('MONTH', `ordered_at`) AS DATE) AS _period,
    COALESCE(CAST(`channel` AS STRING), '(none)') AS _dim,
    SUM(total_amount) FILTER(WHERE
      status IS NULL OR NOT status IN ('cancelled', 'refunded')) AS _l0,
    COUNT(*) FILTER(WHERE
      status IS NULL OR NOT status IN ('cancelled', 'refunded')) AS _l1,
    SUM(total_amount - cost_amount) FILTER(WHERE
      status IS NULL OR NOT status IN ('cancelled', 'refunded')) AS _l2,
    COUNT(DISTINCT customer_id) FILTER(WHERE
      status IS NULL OR NOT status IN ('cancelled', 'refunded')) AS _l4,
    MEDIAN(total_amount) FILTER(WHERE
      status IS NULL OR NOT status IN ('cancelled', 'refunded')) AS _l7,
    MAX(total_amount) AS _l8,
    MIN(total_amount) AS _l9,
    AVG(COALESCE(discount_amount, 0)) AS _l10,
    COUNT(*) FILTER(WHERE
      status = 'refunded') AS _l11,
    COUNT(*) AS _l12
  FROM `orders`
  WHERE
    `ordered_at` >= CAST('2023-01-01 00:00:00' AS TIMESTAMP)
    AND `ordered_at` < CAST('2025-01-01 00:00:00' AS TIMESTAMP)
  GROUP BY
    1,
    2
), src1_orders AS (
  SELECT
    CAST(DATE_TRUNC('MONTH', `ordered_at`) AS DATE) AS _period,
    COALESCE(CAST(`channel` AS STRING), '(none)') AS _dim,
    COUNT(DISTINCT customer_id) AS _l3
  FROM (
    SELECT
      *
    FROM (
      SELECT
        *,
        ROW_NUMBER() OVER (PARTITION BY `customer_id` ORDER BY `ordered_at`, `order_id`) AS _rank
      FROM `orders`
      WHERE
        status IS NULL OR NOT status IN ('cancelled', 'refunded')
    ) AS _ranked
    WHERE
      _rank = 1
  ) AS _first
  WHERE
    `ordered_at` >= CAST('2023-01-01 00:00:00' AS TIMESTAMP)
    AND `ordered_at` < CAST('2025-01-01 00:00:00' AS TIMESTAMP)
  GROUP BY
    1,
    2
), src2_orders AS (
  SELECT
    CAST(DATE_TRUNC('MONTH', `fulfilled_at`) AS DATE) AS _period,
    COALESCE(CAST(`channel` AS STRING), '(none)') AS _dim,
    AVG((
      UNIX_TIMESTAMP(fulfilled_at) - UNIX_TIMESTAMP(ordered_at)
    ) / 86400.0) FILTER(WHERE
      NOT ordered_at IS NULL AND NOT fulfilled_at IS NULL) AS _l5,
    PERCENTILE_CONT((
      UNIX_TIMESTAMP(fulfilled_at) - UNIX_TIMESTAMP(ordered_at)
    ) / 3600.0, 0.9) FILTER(WHERE
      NOT ordered_at IS NULL AND NOT fulfilled_at IS NULL) AS _l6
  FROM `orders`
  WHERE
    `fulfilled_at` >= CAST('2023-01-01 00:00:00' AS TIMESTAMP)
    AND `fulfilled_at` < CAST('2025-01-01 00:00:00' AS TIMESTAMP)
  GROUP BY
    1,
    2
), src3_orders_active AS (
  SELECT DISTINCT
    CAST(DATE_TRUNC('MONTH', `ordered_at`) AS DATE) AS _period,
    COALESCE(CAST(`channel` AS STRING), '(none)') AS _dim,
    `customer_id` AS _entity
  FROM `orders`
  WHERE
    (
      `ordered_at` >= CAST('2023-01-01 00:00:00' AS TIMESTAMP)
      AND `ordered_at` < CAST('2025-01-01 00:00:00' AS TIMESTAMP)
    )
    AND NOT `customer_id` IS NULL
    AND (
      status IS NULL OR NOT status IN ('cancelled', 'refunded')
    )
), src3_orders AS (
  SELECT
    `s`.`_period` AS _period,
    `p`.`_dim` AS _dim,
    COUNT(*) AS _l13,
    COUNT(`c`.`_entity`) AS _l14
  FROM spine_prev AS s
  JOIN src3_orders_active AS p
    ON `p`.`_period` = `s`.`_prev`
  LEFT JOIN src3_orders_active AS c
    ON `c`.`_period` = `s`.`_period`
    AND `c`.`_entity` = `p`.`_entity`
    AND `c`.`_dim` = `p`.`_dim`
  GROUP BY
    1,
    2
), dims AS (
  SELECT
    `_dim`
  FROM src0_orders
  UNION
  SELECT
    `_dim`
  FROM src1_orders
  UNION
  SELECT
    `_dim`
  FROM src2_orders
  UNION
  SELECT
    `_dim`
  FROM src3_orders
), base AS (
  SELECT
    `spine`.`_period`,
    `dims`.`_dim`,
    COALESCE(`src0_orders`.`_l0`, 0) AS _l0,
    COALESCE(`src0_orders`.`_l1`, 0) AS _l1,
    COALESCE(`src0_orders`.`_l2`, 0) AS _l2,
    COALESCE(`src0_orders`.`_l4`, 0) AS _l4,
    `src0_orders`.`_l7` AS _l7,
    `src0_orders`.`_l8` AS _l8,
    `src0_orders`.`_l9` AS _l9,
    `src0_orders`.`_l10` AS _l10,
    COALESCE(`src0_orders`.`_l11`, 0) AS _l11,
    COALESCE(`src0_orders`.`_l12`, 0) AS _l12,
    COALESCE(`src1_orders`.`_l3`, 0) AS _l3,
    `src2_orders`.`_l5` AS _l5,
    `src2_orders`.`_l6` AS _l6,
    COALESCE(`src3_orders`.`_l13`, 0) AS _l13,
    COALESCE(`src3_orders`.`_l14`, 0) AS _l14
  FROM spine
  CROSS JOIN dims
  LEFT JOIN src0_orders
    ON `src0_orders`.`_period` = `spine`.`_period`
    AND `src0_orders`.`_dim` = `dims`.`_dim`
  LEFT JOIN src1_orders
    ON `src1_orders`.`_period` = `spine`.`_period`
    AND `src1_orders`.`_dim` = `dims`.`_dim`
  LEFT JOIN src2_orders
    ON `src2_orders`.`_period` = `spine`.`_period`
    AND `src2_orders`.`_dim` = `dims`.`_dim`
  LEFT JOIN src3_orders
    ON `src3_orders`.`_period` = `spine`.`_period`
    AND `src3_orders`.`_dim` = `dims`.`_dim`
), stage1 AS (
  SELECT
    *,
    `_l0` AS `revenue`,
    `_l1` AS `orders`,
    `_l3` AS `new_customers`,
    `_l4` AS `active_customers`,
    `_l5` AS `fulfilment_time`,
    `_l6` AS `fulfilment_p90_hours`,
    `_l7` AS `median_order`,
    `_l8` AS `largest_order`,
    `_l9` AS `smallest_order`,
    `_l10` AS `avg_discount`,
    CAST(`_l11` AS DOUBLE) / NULLIF(`_l12`, 0) AS `refund_rate`,
    CAST(`_l14` AS DOUBLE) / NULLIF(`_l13`, 0) AS `customer_retention`
  FROM base
), stage2 AS (
  SELECT
    *,
    CAST(`revenue` AS DOUBLE) / NULLIF(`orders`, 0) AS `aov`,
    CAST(`_l2` AS DOUBLE) / NULLIF(`revenue`, 0) AS `gross_margin_pct`,
    CAST((
      active_customers - new_customers
    ) AS DOUBLE) / NULLIF(NULLIF(active_customers, 0), 0) AS `repeat_purchase_rate`,
    CAST((
      `revenue` - LAG(`revenue`, 1) OVER (PARTITION BY `_dim` ORDER BY `_period` NULLS LAST)
    ) AS DOUBLE) / NULLIF(ABS(LAG(`revenue`, 1) OVER (PARTITION BY `_dim` ORDER BY `_period` NULLS LAST)), 0) AS `revenue_growth`,
    CAST((
      `revenue` - LAG(`revenue`, 12) OVER (PARTITION BY `_dim` ORDER BY `_period` NULLS LAST)
    ) AS DOUBLE) / NULLIF(
      ABS(LAG(`revenue`, 12) OVER (PARTITION BY `_dim` ORDER BY `_period` NULLS LAST)),
      0
    ) AS `revenue_yoy`,
    `revenue` - LAG(`revenue`, 1) OVER (PARTITION BY `_dim` ORDER BY `_period` NULLS LAST) AS `revenue_diff`,
    SUM(`revenue`) OVER (
      PARTITION BY `_dim`, CAST(DATE_TRUNC('YEAR', `_period`) AS DATE)
      ORDER BY `_period` NULLS LAST
      ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
    ) AS `revenue_ytd`,
    SUM(`revenue`) OVER (
      PARTITION BY `_dim`, CAST(DATE_TRUNC('QUARTER', `_period`) AS DATE)
      ORDER BY `_period` NULLS LAST
      ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
    ) AS `revenue_qtd`,
    SUM(`revenue`) OVER (
      PARTITION BY `_dim`, CAST(DATE_TRUNC('MONTH', `_period`) AS DATE)
      ORDER BY `_period` NULLS LAST
      ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
    ) AS `revenue_mtd`,
    SUM(`revenue`) OVER (
      PARTITION BY `_dim`
      ORDER BY `_period` NULLS LAST
      ROWS BETWEEN 2 PRECEDING AND CURRENT ROW
    ) AS `revenue_rolling_3`
  FROM stage1
), stage3 AS (
  SELECT
    *,
    CAST(gross_margin_pct AS DOUBLE) / NULLIF((
      refund_rate - refund_rate
    ), 0) AS `margin_per_refund`,
    (
      2.0 * (
        CAST(`gross_margin_pct` AS DOUBLE) / 0.5
      ) + 1.0 * (
        CAST(0.05 AS DOUBLE) / NULLIF(`refund_rate`, 0)
      )
    ) / 3.0 AS `health_index`
  FROM stage2
)
SELECT
  `_period` AS `period`,
  `_dim` AS `channel`,
  `revenue`,
  `orders`,
  `aov`,
  `gross_margin_pct`,
  `new_customers`,
  `active_customers`,
  `repeat_purchase_rate`,
  `revenue_growth`,
  `revenue_yoy`,
  `revenue_diff`,
  `revenue_ytd`,
  `revenue_qtd`,
  `revenue_mtd`,
  `revenue_rolling_3`,
  `fulfilment_time`,
  `fulfilment_p90_hours`,
  `median_order`,
  `largest_order`,
  `smallest_order`,
  `avg_discount`,
  `refund_rate`,
  `customer_retention`,
  `margin_per_refund`,
  `health_index`
FROM stage3
WHERE
  `_period` >= CAST('2024-01-01' AS DATE)
ORDER BY
  `period`,
  `channel`
