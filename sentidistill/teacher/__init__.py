"""Teacher generation: chat templating, the row-level content-addressed cache, and the
Ray Data actor pool that asks the teacher only for rows the cache lacks."""
