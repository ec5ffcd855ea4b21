"""Offline study hours (学时认定 / 学时申报): trainings officers record by form or from an attendance sheet,
cadres' claims with their evidence files and the decisions on them, who may do and see which of it, and
the approved hours as facts of the learning records (computed again at once when they change)."""
