-- Placements (稳定就业 + 灵活就业) per job seeker registered (采集就业需求人员), summed over the
-- monthly reports in the period. Employment is reported per community, not per grid.
SELECT
    p.period_start,
    e.community_id AS unit_id,
    sum(e.placed_stable + e.placed_flexible) / nullif(sum(e.seekers_registered), 0)::DOUBLE AS value
FROM employment AS e
JOIN periods($date_from, $date_to, $bucket) AS p
    ON e.month BETWEEN p.period_start AND p.period_end
WHERE in_scope(e.community_id, NULL, $community_id, NULL)
GROUP BY GROUPING SETS ((p.period_start, e.community_id), (p.period_start))
