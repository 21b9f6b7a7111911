# Decap CMS for the workbench at /admin/, from the pinned npm package; only its dist/ is kept.
FROM node:20-slim AS workbench
WORKDIR /workbench
COPY workbench/package.json workbench/package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund

FROM python:3.11-slim

RUN apt-get update \
    && apt-get install -y --no-install-recommends git \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app

COPY pyproject.toml README.md ./
COPY cms/ ./cms/
RUN pip install --no-cache-dir .

COPY --from=workbench /workbench/node_modules/decap-cms/dist/ ./workbench/decap-cms/
ENV CMS_REPO=/data/content-repo CMS_WORKBENCH_DIST=/app/workbench/decap-cms

RUN useradd --create-home --shell /usr/sbin/nologin cms \
    && mkdir -p /data \
    && chown cms:cms /data

VOLUME /data
EXPOSE 8000

USER cms

# No demo content and no token in the logs: create the first admin token with
#   docker compose exec cms cms token create --name "..." --email ... --role admin
CMD cms init --no-token && exec cms serve --host 0.0.0.0 --port 8000 --workers 2
