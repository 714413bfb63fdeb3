-- The application's role: it neither owns the tables nor bypasses row-level security.
CREATE ROLE eiso_app LOGIN PASSWORD 'change-me' NOSUPERUSER NOBYPASSRLS;
