FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY emulator ./emulator
RUN pip install --no-cache-dir . && useradd --create-home emulator
USER emulator
ENV EMULATOR_DATA_DIR=/home/emulator/data
EXPOSE 9088
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:9088/_emulator/health', timeout=2).status != 200)"
CMD ["aliyun-emulator", "serve", "--host", "0.0.0.0"]
