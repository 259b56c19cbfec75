"""Reports: scheduled KPI review packs (weekly / monthly; whole org or one department) as an HTML
email with static charts, a PDF and an XLSX workbook; preview and "send now" in the UI."""
