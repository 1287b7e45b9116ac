-- One database per service (each service owns its own; none reads another's tables).
-- Run once by the postgres image on an empty data volume (/docker-entrypoint-initdb.d).
CREATE DATABASE users;
CREATE DATABASE products;
CREATE DATABASE notifications;
