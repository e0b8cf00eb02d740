"""notes: a small Flask app as Azure's samples write them - Blob Storage and
PostgreSQL with Entra tokens from DefaultAzureCredential, no secret anywhere.

On a VM with `azmi serve` it runs unchanged: the service's environment file
(IDENTITY_ENDPOINT, IDENTITY_HEADER) sends the SDK to azmi instead of IMDS,
and the PostgreSQL password is the Entra token, as on Azure Database for
PostgreSQL.  Configuration from the environment:
  STORAGE_ACCOUNT_URL  e.g. https://acct.blob.core.windows.net
  NOTES_CONTAINER      default "notes"
  PGHOST, PGPORT, PGDATABASE, PGUSER
  PG_TOKEN_SCOPE       default https://ossrdbms-aad.database.windows.net/.default
  PORT                 default 8000 (listens on 127.0.0.1)
"""

import os
import uuid

import psycopg2
from azure.core.exceptions import ResourceExistsError
from azure.identity import DefaultAzureCredential
from azure.storage.blob import BlobServiceClient
from flask import Flask, jsonify, request

PG_SCOPE = os.environ.get("PG_TOKEN_SCOPE", "https://ossrdbms-aad.database.windows.net/.default")

app = Flask(__name__)
credential = DefaultAzureCredential()
blobs = BlobServiceClient(os.environ["STORAGE_ACCOUNT_URL"], credential=credential)
container = blobs.get_container_client(os.environ.get("NOTES_CONTAINER", "notes"))


def db():
    return psycopg2.connect(host=os.environ["PGHOST"], port=os.environ.get("PGPORT", "5432"),
                            dbname=os.environ["PGDATABASE"], user=os.environ["PGUSER"],
                            password=credential.get_token(PG_SCOPE).token, sslmode="prefer",
                            connect_timeout=10)


def setup():
    try:
        container.create_container()
    except ResourceExistsError:
        pass
    with db() as conn, conn.cursor() as cur:
        cur.execute("CREATE TABLE IF NOT EXISTS notes (id text PRIMARY KEY, title text NOT NULL, "
                    "created timestamptz NOT NULL DEFAULT now())")


@app.post("/notes")
def add_note():
    note_id = str(uuid.uuid4())
    title = request.form.get("title", "")
    container.upload_blob("%s.txt" % note_id, request.form.get("text", "").encode())
    with db() as conn, conn.cursor() as cur:
        cur.execute("INSERT INTO notes (id, title) VALUES (%s, %s)", (note_id, title))
    return jsonify(id=note_id), 201


@app.get("/notes")
def list_notes():
    with db() as conn, conn.cursor() as cur:
        cur.execute("SELECT id, title, current_user FROM notes ORDER BY created")
        rows = cur.fetchall()
    out = []
    for note_id, title, who in rows:
        text = container.download_blob("%s.txt" % note_id).readall().decode()
        out.append({"id": note_id, "title": title, "text": text, "db_user": who})
    return jsonify(out)


if __name__ == "__main__":
    setup()
    app.run(host="127.0.0.1", port=int(os.environ.get("PORT", "8000")))
