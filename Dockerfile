# Karte's image for compose.yaml: Debian 12 with the same system packages as a server
# (scripts/system-deps.sh base), Karte in a virtual environment, static files collected.
FROM debian:bookworm-slim
ENV DEBIAN_FRONTEND=noninteractive PYTHONUNBUFFERED=1 PATH=/opt/karte/bin:$PATH
WORKDIR /app
COPY scripts/system-deps.sh scripts/system-deps.sh
RUN apt-get update && scripts/system-deps.sh base && rm -rf /var/lib/apt/lists/*
COPY . /app
RUN python3 -m venv /opt/karte && /opt/karte/bin/pip install --no-cache-dir /app gunicorn \
    && KARTE_MODE=production SECRET_KEY=build-only ALLOWED_HOSTS=build KARTE_VAR_DIR=/tmp/build-var \
       python manage.py collectstatic --noinput -v 0 \
    && useradd --system --home /app karte && mkdir -p /app/var && chown -R karte /app/var
USER karte
EXPOSE 8000
CMD ["gunicorn", "-c", "gunicorn.conf.py", "karte.wsgi"]
