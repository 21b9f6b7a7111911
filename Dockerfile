FROM python:3.11-slim

RUN apt-get update \
    && apt-get install -y --no-install-recommends git \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app

COPY pyproject.toml README.md ./
COPY cms/ ./cms/
RUN pip install --no-cache-dir .

ENV CMS_REPO=/data/content-repo

RUN useradd --create-home --shell /usr/sbin/nologin cms \
    && mkdir -p /data \
    && chown cms:cms /data

VOLUME /data
EXPOSE 8000

USER cms

CMD cms init --demo && exec cms serve --host 0.0.0.0 --port 8000 --workers 2
