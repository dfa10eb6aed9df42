// Entity group transactions as raw OData `$batch` bodies sent through a TableClient's own
// pipeline (so shared key, SAS and token auth still apply). The SDK's `submitTransaction` builds
// a TableClient per transaction and runs every sub-operation through a pipeline of its own:
// about 23 µs of client CPU per entity, a third of a produce's time against a fast service.

import { Buffer } from "node:buffer";
import type { TableClient } from "@azure/data-tables";
import {
  createDefaultHttpClient,
  createHttpHeaders,
  createPipelineRequest,
  type HttpClient,
  RestError,
} from "@azure/core-rest-pipeline";
import type { Row } from "./_entities.ts";

/**
 * One operation of a transaction: insert, insert-or-replace, replace under `If-Match`, or delete
 * (of a row that must be there).
 */
export type BatchAction =
  | { kind: "create"; row: Row }
  | { kind: "upsert"; row: Row }
  | { kind: "update"; row: Row; etag: string }
  | { kind: "delete"; row: Pick<Row, "partitionKey" | "rowKey"> };

/** Operations of one entity group transaction: Azure allows 100. */
export const MAX_TRANSACTION_OPERATIONS = 100;

const CRLF = "\r\n";

/** The body of an entity in the JSON the service takes (binary properties as base64). */
function entityJson(row: Row): string {
  const body: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(row)) {
    if (name === "etag" || value === undefined) continue;
    if (name === "partitionKey") body.PartitionKey = value;
    else if (name === "rowKey") body.RowKey = value;
    else if (value instanceof Uint8Array) {
      body[name] = Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString(
        "base64",
      );
      body[`${name}@odata.type`] = "Edm.Binary";
    } else if (typeof value === "string") body[name] = value;
    else throw new TypeError(`property ${name}: only strings and bytes are written in batches`);
  }
  return JSON.stringify(body);
}

function keyLiteral(key: string): string {
  return encodeURIComponent(key.replaceAll("'", "''"));
}

/** Sends entity group transactions of one table. */
export class BatchSender {
  #client: TableClient;
  #httpClient: HttpClient = createDefaultHttpClient();
  #tableUrl: string;
  #batchUrl: string;
  #allowInsecure: boolean;

  constructor(client: TableClient) {
    this.#client = client;
    // A SAS in the account URL goes after `$batch`; sub-requests carry no SAS.
    const [base, sas] = client.url.split("?");
    const account = base.endsWith("/") ? base : `${base}/`;
    this.#tableUrl = `${account}${client.tableName}`;
    this.#batchUrl = `${account}$batch${sas === undefined ? "" : `?${sas}`}`;
    this.#allowInsecure = account.startsWith("http:");
  }

  /**
   * Submits one transaction; resolves with each operation's new ETag (if the service sent one).
   * A failed transaction throws a `RestError` with the failing operation's `statusCode` and
   * service `code`, as the SDK's `submitTransaction` does.
   */
  async submit(actions: BatchAction[]): Promise<(string | undefined)[]> {
    const batchId = crypto.randomUUID();
    const changesetId = crypto.randomUUID();
    const parts: string[] = [
      `--batch_${batchId}${CRLF}Content-Type: multipart/mixed; boundary=changeset_${changesetId}${CRLF}${CRLF}`,
    ];
    for (const action of actions) {
      const { row } = action;
      const entityUrl = `${this.#tableUrl}(PartitionKey='${keyLiteral(row.partitionKey)}',RowKey='${
        keyLiteral(row.rowKey)
      }')`;
      const part = `--changeset_${changesetId}${CRLF}Content-Type: application/http${CRLF}` +
        `Content-Transfer-Encoding: binary${CRLF}${CRLF}`;
      if (action.kind === "delete") {
        parts.push(
          `${part}DELETE ${entityUrl} HTTP/1.1${CRLF}` +
            `Accept: application/json;odata=minimalmetadata${CRLF}DataServiceVersion: 3.0;${CRLF}` +
            `If-Match: *${CRLF}${CRLF}`,
        );
        continue;
      }
      const line = action.kind === "create"
        ? `POST ${this.#tableUrl} HTTP/1.1`
        : `PUT ${entityUrl} HTTP/1.1`;
      parts.push(
        `${part}${line}${CRLF}` +
          `Content-Type: application/json${CRLF}Accept: application/json;odata=minimalmetadata${CRLF}` +
          `Prefer: return-no-content${CRLF}DataServiceVersion: 3.0;${CRLF}` +
          (action.kind === "update" ? `If-Match: ${action.etag}${CRLF}` : "") +
          `${CRLF}${entityJson(action.row as Row)}${CRLF}`,
      );
    }
    parts.push(`--changeset_${changesetId}--${CRLF}--batch_${batchId}--${CRLF}`);
    const request = createPipelineRequest({
      url: this.#batchUrl,
      method: "POST",
      body: parts.join(""),
      headers: createHttpHeaders({
        accept: "application/json",
        "x-ms-version": "2019-02-02",
        DataServiceVersion: "3.0;",
        MaxDataServiceVersion: "3.0;NetFx",
        "Content-Type": `multipart/mixed; boundary=batch_${batchId}`,
        "Accept-Charset": "UTF-8",
      }),
      allowInsecureConnection: this.#allowInsecure,
    });
    const response = await this.#client.pipeline.sendRequest(this.#httpClient, request);
    const text = response.bodyAsText ?? "";
    if (response.status < 200 || response.status >= 300) {
      throw new RestError("Transaction Failed", {
        statusCode: response.status,
        code: errorCodeOf(text),
        request,
        response,
      });
    }
    const subResponses = text.split("--changesetresponse_").slice(1, -1);
    return subResponses.map((sub) => {
      const status = Number(sub.match(/HTTP\/1\.1 ([0-9]+)/)?.[1]);
      if (!Number.isInteger(status)) {
        throw new RestError("Transaction Failed: a sub-response has no status", {
          statusCode: response.status,
          request,
          response,
        });
      }
      if (status >= 300) {
        const body = sub.match(/\{(.*)\}/)?.[0];
        throw new RestError(messageOf(body) ?? "Transaction Failed", {
          statusCode: status,
          code: body === undefined ? undefined : errorCodeOf(body),
          request,
          response,
        });
      }
      return sub.match(/^ETag: *(.*?)\r?$/mi)?.[1];
    });
  }
}

function odataError(body: string): { code?: unknown; message?: { value?: unknown } } | undefined {
  try {
    return JSON.parse(body)?.["odata.error"];
  } catch {
    return undefined;
  }
}

function errorCodeOf(body: string): string | undefined {
  const code = odataError(body)?.code;
  return typeof code === "string" ? code : undefined;
}

function messageOf(body: string | undefined): string | undefined {
  const message = body === undefined ? undefined : odataError(body)?.message?.value;
  return typeof message === "string" ? message : undefined;
}
