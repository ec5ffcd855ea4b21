"""The console's read models: what the dashboard, the reports, the cadre pages and the JSON API show,
read from the stored records as plain values, always within the reader's ``Scope``. They write nothing.

- ``scope``: which cadres a reader may see, applied in SQL by every query here;
- ``dashboard``: the year at a glance; ``reports``: 统计报表 by department, tier or class, with the
  laggards and the commendation candidates; ``report_exports``: the same as spreadsheets;
- ``cadre_pages``: finding cadres, and everything the console shows about one;
- ``record_lists``: the learning records as lists another system reads (the JSON API);
- ``bulletins``: the bulletins (通报) issued, their delivery and their ranked tables;
- ``page_cache``: the dashboard's and reports' numbers, kept per state of the data.

The package imports nothing itself: import the module you need.
"""
