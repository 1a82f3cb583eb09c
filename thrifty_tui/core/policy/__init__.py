"""The scheduler's rules: done rules and the budget, the cost model, the racing statistics, and the pure policy that decides what to fit next."""
