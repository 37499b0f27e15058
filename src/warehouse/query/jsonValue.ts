import {
  DuckDBTypeId,
  fromVariantValue,
  type DuckDBArrayType,
  type DuckDBBlobValue,
  type DuckDBDateValue,
  type DuckDBDecimalValue,
  type DuckDBGeometryValue,
  type DuckDBListType,
  type DuckDBListValue,
  type DuckDBMapType,
  type DuckDBMapValue,
  type DuckDBStructType,
  type DuckDBStructValue,
  type DuckDBTimestampMillisecondsValue,
  type DuckDBTimestampNanosecondsValue,
  type DuckDBTimestampSecondsValue,
  type DuckDBTimestampTZValue,
  type DuckDBTimestampValue,
  type DuckDBType,
  type DuckDBUnionType,
  type DuckDBUnionValue,
  type DuckDBValue,
} from '@duckdb/node-api';

/** A value JSON.stringify writes exactly as it is. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** An integer as a JSON number when it is exact there (|n| <= 2^53 - 1), else as its decimal text. */
function integer(value: bigint): number | string {
  return value >= -MAX_SAFE && value <= MAX_SAFE ? Number(value) : value.toString();
}

/** NaN and the infinities have no JSON number: they are written as DuckDB spells them. */
function float(value: number, single: boolean): number | string {
  if (Number.isNaN(value)) return 'NaN';
  if (!Number.isFinite(value)) return value > 0 ? 'Infinity' : '-Infinity';
  if (value === 0) return 0; // -0 too
  if (!single) return value;
  // A FLOAT arrives widened to a double (1.1 -> 1.100000023841858); the shortest text that reads back as the same
  // single-precision value is what DuckDB prints and what the user stored.
  for (let digits = 1; digits <= 9; digits++) {
    const candidate = Number(value.toPrecision(digits));
    if (Math.fround(candidate) === value) return candidate;
  }
  return value;
}

/** `sign digits e exponent` with no leading or trailing zeros: equal keys are equal decimal values. */
function decimalKey(negative: boolean, digits: string, exponent: number): string {
  const trimmed = digits.replace(/^0+/, '');
  if (trimmed === '') return '0';
  const significant = trimmed.replace(/0+$/, '');
  return `${negative ? '-' : ''}${significant}e${exponent + trimmed.length - significant.length}`;
}

/** The decimal value of a JavaScript number's shortest text ("1.5e-7", "123.25"), as a decimalKey. */
function numberKey(n: number): string {
  const [mantissa = '', exp = '0'] = Math.abs(n).toString().split('e');
  const [whole = '', fraction = ''] = mantissa.split('.');
  return decimalKey(n < 0, whole + fraction, Number.parseInt(exp, 10) - fraction.length);
}

/**
 * A DECIMAL as a JSON number when that number reads back as exactly the same decimal value (123.45, 0.1), else as
 * its text ("123456789012345678.12"), so no digit is ever lost.
 */
function decimal(value: DuckDBDecimalValue): number | string {
  const negative = value.value < 0n;
  const digits = (negative ? -value.value : value.value).toString();
  const text = value.toString();
  const n = Number(text);
  return Number.isFinite(n) && numberKey(n) === decimalKey(negative, digits, -value.scale) ? n : text;
}

const pad = (n: number, width: number) => String(n).padStart(width, '0');

/** Days since 1970-01-01 as an ISO 8601 calendar date (H. Hinnant's civil_from_days; proleptic Gregorian). */
export function isoDate(days: number): string {
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  // Years outside 0000-9999 use ISO 8601's expanded form, as JavaScript's Date does (+010000, -000044).
  const y = year >= 0 && year <= 9999 ? pad(year, 4) : `${year < 0 ? '-' : '+'}${pad(Math.abs(year), 6)}`;
  return `${y}-${pad(month, 2)}-${pad(day, 2)}`;
}

const DAY = 86_400n;

/** A count of `1 / 10^digits` seconds since the epoch as ISO 8601 (`2026-11-23T02:00:00.123456`, plus `Z` for UTC). */
function isoTimestamp(ticks: bigint, digits: number, utc: boolean): string {
  const perSecond = 10n ** BigInt(digits);
  const perDay = DAY * perSecond;
  let days = ticks / perDay;
  let rest = ticks % perDay;
  if (rest < 0n) {
    days -= 1n;
    rest += perDay;
  }
  const seconds = Number(rest / perSecond);
  const fraction = digits > 0 ? `.${(rest % perSecond).toString().padStart(digits, '0')}` : '';
  const time = `${pad(Math.floor(seconds / 3600), 2)}:${pad(Math.floor(seconds / 60) % 60, 2)}:${pad(seconds % 60, 2)}`;
  return `${isoDate(Number(days))}T${time}${fraction}${utc ? 'Z' : ''}`;
}

/** `infinity` / `-infinity`, as DuckDB and Postgres spell them, or null for a finite value. */
function infinite(value: { isFinite: boolean }, ticks: bigint | number): string | null {
  if (value.isFinite) return null;
  return ticks > 0 ? 'infinity' : '-infinity';
}

/** A MAP key as an object key: strings as they are, anything else as its JSON text. */
function mapKey(key: JsonValue): string {
  return typeof key === 'string' ? key : JSON.stringify(key);
}

const base64 = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');

/**
 * One DuckDB value as JSON, by its column type (the query endpoint's rows, the CLI's --format json):
 * - integers up to 32 bits, BOOLEAN: as they are; BIGINT, UBIGINT, HUGEINT, UHUGEINT, BIGNUM: a number when it is a
 *   safe integer, else its decimal text; DECIMAL: a number when it reads back exactly, else its text;
 * - DOUBLE, FLOAT: numbers (FLOAT by its shortest text), NaN and infinities as strings;
 * - DATE `2026-11-23`; TIMESTAMP `2026-11-23T02:00:00.123456`; TIMESTAMPTZ the same in UTC with `Z`;
 *   infinite dates and timestamps `infinity` / `-infinity`;
 * - LIST and ARRAY: arrays; STRUCT: objects; MAP: objects (non-string keys as their JSON text); UNION: its value;
 * - BLOB, GEOMETRY (WKB): base64; INTERVAL, TIME, TIMETZ, UUID, ENUM, BIT, VARCHAR (JSON included): strings.
 * Example: `toJsonValue(2n ** 60n, BIGINT) === '1152921504606846976'`.
 */
export function toJsonValue(value: DuckDBValue, type: DuckDBType): JsonValue {
  if (value === null || value === undefined) return null;
  switch (type.typeId) {
    case DuckDBTypeId.BOOLEAN:
    case DuckDBTypeId.TINYINT:
    case DuckDBTypeId.SMALLINT:
    case DuckDBTypeId.INTEGER:
    case DuckDBTypeId.UTINYINT:
    case DuckDBTypeId.USMALLINT:
    case DuckDBTypeId.UINTEGER:
      return value as boolean | number;
    case DuckDBTypeId.BIGINT:
    case DuckDBTypeId.UBIGINT:
    case DuckDBTypeId.HUGEINT:
    case DuckDBTypeId.UHUGEINT:
    case DuckDBTypeId.BIGNUM:
      return integer(value as bigint);
    case DuckDBTypeId.FLOAT:
      return float(value as number, true);
    case DuckDBTypeId.DOUBLE:
      return float(value as number, false);
    case DuckDBTypeId.DECIMAL:
      return decimal(value as DuckDBDecimalValue);
    case DuckDBTypeId.DATE: {
      const date = value as DuckDBDateValue;
      return infinite(date, date.days) ?? isoDate(date.days);
    }
    case DuckDBTypeId.TIMESTAMP:
    case DuckDBTypeId.TIMESTAMP_TZ: {
      const ts = value as DuckDBTimestampValue | DuckDBTimestampTZValue;
      return infinite(ts, ts.micros) ?? isoTimestamp(ts.micros, 6, type.typeId === DuckDBTypeId.TIMESTAMP_TZ);
    }
    case DuckDBTypeId.TIMESTAMP_S: {
      const ts = value as DuckDBTimestampSecondsValue;
      return infinite(ts, ts.seconds) ?? isoTimestamp(ts.seconds, 0, false);
    }
    case DuckDBTypeId.TIMESTAMP_MS: {
      const ts = value as DuckDBTimestampMillisecondsValue;
      return infinite(ts, ts.millis) ?? isoTimestamp(ts.millis, 3, false);
    }
    case DuckDBTypeId.TIMESTAMP_NS: {
      const ts = value as DuckDBTimestampNanosecondsValue;
      return infinite(ts, ts.nanos) ?? isoTimestamp(ts.nanos, 9, false);
    }
    case DuckDBTypeId.BLOB:
      return base64((value as DuckDBBlobValue).bytes);
    case DuckDBTypeId.GEOMETRY:
      return base64((value as DuckDBGeometryValue).bytes);
    case DuckDBTypeId.LIST:
    case DuckDBTypeId.ARRAY: {
      const itemType = (type as DuckDBListType | DuckDBArrayType).valueType;
      return (value as DuckDBListValue).items.map((item) => toJsonValue(item, itemType));
    }
    case DuckDBTypeId.STRUCT: {
      const struct = type as DuckDBStructType;
      const entries = (value as DuckDBStructValue).entries;
      // fromEntries defines own properties, so a field named __proto__ stays a field here; hasOwn keeps the
      // prototype out when the value record lost such a field (it is null then).
      return Object.fromEntries(
        struct.entryNames.map((name, i) => [
          name,
          toJsonValue(Object.hasOwn(entries, name) ? entries[name]! : null, struct.entryTypes[i]!),
        ]),
      );
    }
    case DuckDBTypeId.MAP: {
      const map = type as DuckDBMapType;
      return Object.fromEntries(
        (value as DuckDBMapValue).entries.map((e) => [
          mapKey(toJsonValue(e.key, map.keyType)),
          toJsonValue(e.value, map.valueType),
        ]),
      );
    }
    case DuckDBTypeId.UNION: {
      const union = value as DuckDBUnionValue;
      const memberType = (type as DuckDBUnionType).memberTypes[(type as DuckDBUnionType).memberIndexForTag(union.tag)];
      return memberType ? toJsonValue(union.value, memberType) : null;
    }
    case DuckDBTypeId.VARIANT:
      return fromVariantValue<JsonValue>(value, type, (v, t) => toJsonValue(v, t));
    case DuckDBTypeId.SQLNULL:
      return null;
    default:
      // VARCHAR, ENUM, UUID, INTERVAL, TIME, TIME_NS, TIMETZ, BIT: DuckDB's own text.
      return typeof value === 'string' ? value : String(value);
  }
}
