using System.Globalization;

namespace IamFulfillment.Sandbox.ServiceNow;

/// <summary>
/// A small in-memory ServiceNow database: tables of string-valued records keyed by sys_id, a schema of which
/// fields reference which table (for dot-walking), journal fields that write to <c>sys_journal_field</c>, and
/// field changes that write to <c>sys_audit</c>. Thread-safe; every method takes one lock.
/// </summary>
public sealed class ServiceNowTables
{
    /// <summary>Tables whose field changes are written to sys_audit.</summary>
    private static readonly HashSet<string> AuditedTables = new(StringComparer.Ordinal)
    {
        "sc_req_item", "sc_request", "sc_item_option", "sysapproval_approver", "sys_user", "sys_user_group", "sc_cat_item",
    };

    /// <summary>Tables that extend task: a reference to "task" resolves in any of them.</summary>
    private static readonly string[] TaskTables = ["sc_req_item", "sc_request", "sc_task"];

    /// <summary>Fields with an equality index, so benchmark-sized tables are not scanned under the lock.</summary>
    private static readonly Dictionary<string, string[]> IndexedFields = new(StringComparer.Ordinal)
    {
        ["sys_audit"] = ["documentkey"],
        ["sys_journal_field"] = ["element_id"],
        ["sc_item_option_mtom"] = ["request_item", "sc_item_option"],
        ["sysapproval_approver"] = ["sysapproval", "document_id"],
        ["sc_req_item"] = ["request"],
    };

    /// <summary>Closed Complete, Closed Incomplete, Closed Skipped: the out-of-the-box closed states of a requested item.</summary>
    private static readonly HashSet<string> ClosedItemStates = ["3", "4", "7"];

    private static readonly string[] SystemFields = ["sys_id", "sys_created_on", "sys_created_by", "sys_updated_on", "sys_updated_by", "sys_mod_count"];

    private readonly object _gate = new();
    private readonly Dictionary<string, Table> _tables = new(StringComparer.Ordinal);
    private readonly Func<DateTimeOffset> _now;
    private long _sequence;

    public ServiceNowTables(Func<DateTimeOffset> now)
    {
        _now = now;
        Define("sys_user", ["user_name", "name", "first_name", "last_name", "email", "employee_number", "active", "manager", "department", "title"],
            new() { ["manager"] = "sys_user" });
        Define("sys_user_group", ["name", "description", "manager", "active", "email"], new() { ["manager"] = "sys_user" });
        Define("sys_user_grmember", ["user", "group"], new() { ["user"] = "sys_user", ["group"] = "sys_user_group" });
        Define("sc_cat_item", ["name", "short_description", "active", "category"], []);
        Define("item_option_new", ["name", "question_text", "type", "cat_item", "order", "reference", "mandatory"], new() { ["cat_item"] = "sc_cat_item" });
        Define("sc_request", ["number", "requested_for", "opened_by", "opened_at", "state", "request_state", "approval", "short_description", "stage", "comments", "work_notes", "active"],
            new() { ["requested_for"] = "sys_user", ["opened_by"] = "sys_user" }, journal: ["comments", "work_notes"]);
        Define("sc_req_item", ["number", "request", "cat_item", "requested_for", "opened_by", "opened_at", "state", "approval", "stage", "short_description", "description",
                "assignment_group", "assigned_to", "active", "quantity", "comments", "work_notes", "closed_at"],
            new() { ["request"] = "sc_request", ["cat_item"] = "sc_cat_item", ["requested_for"] = "sys_user", ["opened_by"] = "sys_user", ["assignment_group"] = "sys_user_group", ["assigned_to"] = "sys_user" },
            journal: ["comments", "work_notes"]);
        Define("sc_task", ["number", "request_item", "state", "short_description", "assignment_group", "comments", "work_notes"],
            new() { ["request_item"] = "sc_req_item", ["assignment_group"] = "sys_user_group" }, journal: ["comments", "work_notes"]);
        Define("sc_item_option", ["item_option_new", "value", "order"], new() { ["item_option_new"] = "item_option_new" });
        Define("sc_item_option_mtom", ["request_item", "sc_item_option"], new() { ["request_item"] = "sc_req_item", ["sc_item_option"] = "sc_item_option" });
        Define("sysapproval_approver", ["approver", "state", "sysapproval", "document_id", "source_table", "group", "comments", "due_date", "expected_start"],
            new() { ["approver"] = "sys_user", ["sysapproval"] = "task" }, journal: ["comments"]);
        Define("sys_audit", ["tablename", "documentkey", "fieldname", "oldvalue", "newvalue", "user", "record_checkpoint", "reason", "internal_checkpoint"], []);
        Define("sys_journal_field", ["element", "element_id", "name", "value"], []);
    }

    /// <summary>Raised when a rule the sandbox cannot follow was met (an unparsable query term); tests assert there were none.</summary>
    public IReadOnlyList<string> InvalidQueryTerms
    {
        get
        {
            lock (_gate)
            {
                return [.. _invalidTerms];
            }
        }
    }

    private readonly List<string> _invalidTerms = [];

    public static string FormatTime(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);

    public bool HasTable(string table)
    {
        lock (_gate)
        {
            return _tables.ContainsKey(table);
        }
    }

    /// <summary>The table a field references (after dot-walking), or null for a plain field.</summary>
    public string? ReferenceOf(string table, string dottedField)
    {
        lock (_gate)
        {
            return Walk(table, dottedField).Reference;
        }
    }

    public bool IsKnownField(string table, string dottedField)
    {
        lock (_gate)
        {
            return Walk(table, dottedField).Known;
        }
    }

    public bool IsJournalField(string table, string field)
    {
        lock (_gate)
        {
            return _tables.TryGetValue(table, out var t) && t.Journal.Contains(field);
        }
    }

    public IReadOnlyList<string> ColumnsOf(string table)
    {
        lock (_gate)
        {
            return _tables.TryGetValue(table, out var t) ? [.. SystemFields, .. t.Columns.Where(c => !SystemFields.Contains(c))] : [];
        }
    }

    /// <summary>Inserts a record as <paramref name="by"/>; journal fields become sys_journal_field rows. Unknown columns are added to the schema.</summary>
    public string Insert(string table, IReadOnlyDictionary<string, string?> fields, string by, DateTimeOffset? at = null, bool extendSchema = true)
    {
        lock (_gate)
        {
            var t = _tables[table];
            var now = FormatTime(at ?? _now());
            var sysId = fields.TryGetValue("sys_id", out var given) && !string.IsNullOrEmpty(given) ? given : NewSysId();
            var record = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                ["sys_id"] = sysId, ["sys_created_on"] = now, ["sys_created_by"] = by, ["sys_updated_on"] = now, ["sys_updated_by"] = by, ["sys_mod_count"] = "0",
            };
            var journal = new List<(string, string)>();
            foreach (var (name, value) in fields)
            {
                if (name.StartsWith("sys_", StringComparison.Ordinal) && SystemFields.Contains(name) && name != "sys_created_on" && name != "sys_created_by")
                {
                    continue;
                }

                if (t.Journal.Contains(name))
                {
                    if (!string.IsNullOrEmpty(value))
                    {
                        journal.Add((name, value));
                    }

                    continue;
                }

                if (!t.Columns.Contains(name) && !SystemFields.Contains(name))
                {
                    if (!extendSchema)
                    {
                        continue;
                    }

                    t.Columns.Add(name);
                }

                record[name] = value ?? string.Empty;
            }

            t.Add(record);
            foreach (var (element, value) in journal)
            {
                AddJournalLocked(table, sysId, element, value, by, now);
            }

            return sysId;
        }
    }

    /// <summary>
    /// Updates a record as <paramref name="by"/>: journal fields append sys_journal_field rows; other changed fields
    /// are written to sys_audit (on audited tables) and bump sys_mod_count, sys_updated_on and sys_updated_by.
    /// Returns false when the record does not exist. Unknown and sys_ fields are ignored, as the Table API does.
    /// </summary>
    public bool Update(string table, string sysId, IReadOnlyDictionary<string, string?> fields, string by, DateTimeOffset? at = null)
    {
        lock (_gate)
        {
            if (!_tables.TryGetValue(table, out var t) || !t.ById.TryGetValue(sysId, out var record))
            {
                return false;
            }

            var now = FormatTime(at ?? _now());
            var changed = new List<(string Field, string Old, string New)>();
            var journaled = false;
            foreach (var (name, raw) in fields)
            {
                var value = raw ?? string.Empty;
                if (name.StartsWith("sys_", StringComparison.Ordinal))
                {
                    continue;
                }

                if (t.Journal.Contains(name))
                {
                    if (value.Length > 0)
                    {
                        AddJournalLocked(table, sysId, name, value, by, now);
                        journaled = true;
                    }

                    continue;
                }

                if (!t.Columns.Contains(name))
                {
                    continue;
                }

                var old = record.GetValueOrDefault(name) ?? string.Empty;
                if (!string.Equals(old, value, StringComparison.Ordinal))
                {
                    t.Unindex(record, name);
                    record[name] = value;
                    t.Index(record, name);
                    changed.Add((name, old, value));
                }
            }

            // As the platform's task rules do: a requested item in a closed state is inactive, a reopened one active again.
            if (table == "sc_req_item" && changed.Any(c => c.Field == "state"))
            {
                var active = ClosedItemStates.Contains(record["state"]) ? "false" : "true";
                var wasActive = record.GetValueOrDefault("active") ?? string.Empty;
                if (!string.Equals(wasActive, active, StringComparison.Ordinal))
                {
                    t.Unindex(record, "active");
                    record["active"] = active;
                    t.Index(record, "active");
                    changed.Add(("active", wasActive, active));
                }
            }

            if (changed.Count == 0 && !journaled)
            {
                return true;
            }

            var modCount = long.Parse(record["sys_mod_count"], CultureInfo.InvariantCulture) + 1;
            record["sys_mod_count"] = modCount.ToString(CultureInfo.InvariantCulture);
            record["sys_updated_on"] = now;
            record["sys_updated_by"] = by;
            if (AuditedTables.Contains(table))
            {
                foreach (var (field, old, value) in changed)
                {
                    InsertLocked("sys_audit", new Dictionary<string, string>(StringComparer.Ordinal)
                    {
                        ["tablename"] = table, ["documentkey"] = sysId, ["fieldname"] = field, ["oldvalue"] = old, ["newvalue"] = value,
                        ["user"] = by, ["record_checkpoint"] = modCount.ToString(CultureInfo.InvariantCulture), ["reason"] = string.Empty,
                        ["internal_checkpoint"] = (++_sequence).ToString("x16", CultureInfo.InvariantCulture),
                    }, by, now);
                }
            }

            return true;
        }
    }

    public bool Delete(string table, string sysId)
    {
        lock (_gate)
        {
            return _tables.TryGetValue(table, out var t) && t.Remove(sysId);
        }
    }

    /// <summary>A copy of one record, or null.</summary>
    public IReadOnlyDictionary<string, string>? Get(string table, string sysId)
    {
        lock (_gate)
        {
            return _tables.TryGetValue(table, out var t) && t.ById.TryGetValue(sysId, out var record) ? new Dictionary<string, string>(record, StringComparer.Ordinal) : null;
        }
    }

    /// <summary>Copies of the records matching an encoded query, ordered as it says (insertion order otherwise).</summary>
    public IReadOnlyList<IReadOnlyDictionary<string, string>> Query(string table, string? encodedQuery)
    {
        var query = EncodedQuery.Parse(encodedQuery);
        lock (_gate)
        {
            if (!_tables.TryGetValue(table, out var t))
            {
                return [];
            }

            foreach (var term in query.Invalid)
            {
                _invalidTerms.Add($"{table}: {term}");
            }

            foreach (var clause in query.Groups.SelectMany(g => g).SelectMany(c => c))
            {
                if (!Walk(table, clause.Field).Known)
                {
                    _invalidTerms.Add($"{table}: unknown field {clause.Field}");
                }
            }

            IEnumerable<Dictionary<string, string>> rows = (t.Candidates(query) ?? t.Rows).Where(r => query.Matches(f => ResolveLocked(table, r, f), f => Walk(table, f).Known));
            IOrderedEnumerable<Dictionary<string, string>>? ordered = null;
            foreach (var (field, descending) in query.OrderBy)
            {
                string Key(Dictionary<string, string> r) => ResolveLocked(table, r, field) ?? string.Empty;
                var comparer = Comparer<string>.Create(EncodedQuery.Compare);
                ordered = ordered is null
                    ? (descending ? rows.OrderByDescending(Key, comparer) : rows.OrderBy(Key, comparer))
                    : (descending ? ordered.ThenByDescending(Key, comparer) : ordered.ThenBy(Key, comparer));
            }

            return (ordered ?? rows).Select(r => (IReadOnlyDictionary<string, string>)new Dictionary<string, string>(r, StringComparer.Ordinal)).ToList();
        }
    }

    /// <summary>The value of a (dot-walked) field of a record; null when the path is unknown or breaks on an empty reference.</summary>
    public string? Resolve(string table, IReadOnlyDictionary<string, string> record, string dottedField)
    {
        lock (_gate)
        {
            return ResolveLocked(table, record, dottedField);
        }
    }

    private string? ResolveLocked(string table, IReadOnlyDictionary<string, string> record, string dottedField)
    {
        var parts = dottedField.Split('.');
        var currentTable = table;
        IReadOnlyDictionary<string, string> current = record;
        for (var i = 0; i < parts.Length; i++)
        {
            if (!_tables.TryGetValue(currentTable, out var t))
            {
                return null;
            }

            var part = parts[i];
            if (!t.Columns.Contains(part) && !SystemFields.Contains(part))
            {
                return null;
            }

            if (t.Journal.Contains(part))
            {
                return string.Empty;
            }

            var value = current.GetValueOrDefault(part) ?? string.Empty;
            if (i == parts.Length - 1)
            {
                return value;
            }

            if (!t.References.TryGetValue(part, out var target))
            {
                return null;
            }

            if (value.Length == 0)
            {
                return Walk(table, dottedField).Known ? string.Empty : null;
            }

            var (nextTable, next) = FindReferenced(target, value);
            if (next is null)
            {
                return Walk(table, dottedField).Known ? string.Empty : null;
            }

            (currentTable, current) = (nextTable, next);
        }

        return null;
    }

    private (string Table, IReadOnlyDictionary<string, string>? Record) FindReferenced(string target, string sysId)
    {
        if (target == "task")
        {
            foreach (var name in TaskTables)
            {
                if (_tables.TryGetValue(name, out var tt) && tt.ById.TryGetValue(sysId, out var r))
                {
                    return (name, r);
                }
            }

            return ("sc_req_item", null);
        }

        return (target, _tables.TryGetValue(target, out var t) && t.ById.TryGetValue(sysId, out var found) ? found : null);
    }

    private (bool Known, string? Reference) Walk(string table, string dottedField)
    {
        var parts = dottedField.Split('.');
        var currentTable = table;
        for (var i = 0; i < parts.Length; i++)
        {
            if (!_tables.TryGetValue(currentTable, out var t))
            {
                return (false, null);
            }

            var part = parts[i];
            if (!t.Columns.Contains(part) && !SystemFields.Contains(part))
            {
                return (false, null);
            }

            var reference = t.References.GetValueOrDefault(part);
            if (i == parts.Length - 1)
            {
                return (true, reference);
            }

            if (reference is null)
            {
                return (false, null);
            }

            currentTable = reference == "task" ? "sc_req_item" : reference;
        }

        return (false, null);
    }

    private void AddJournalLocked(string table, string sysId, string element, string value, string by, string now) =>
        InsertLocked("sys_journal_field", new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["element"] = element, ["element_id"] = sysId, ["name"] = table, ["value"] = value,
        }, by, now);

    private void InsertLocked(string table, Dictionary<string, string> fields, string by, string now)
    {
        fields["sys_id"] = NewSysId();
        fields["sys_created_on"] = now;
        fields["sys_created_by"] = by;
        fields["sys_updated_on"] = now;
        fields["sys_updated_by"] = by;
        fields["sys_mod_count"] = "0";
        _tables[table].Add(fields);
    }

    public static string NewSysId() => Guid.NewGuid().ToString("N");

    private void Define(string name, string[] columns, Dictionary<string, string> references, string[]? journal = null) =>
        _tables[name] = new Table(columns, references, journal ?? [], IndexedFields.GetValueOrDefault(name) ?? []);

    private sealed class Table(string[] columns, Dictionary<string, string> references, string[] journal, string[] indexed)
    {
        private readonly Dictionary<string, Dictionary<string, List<Dictionary<string, string>>>> _indexes =
            indexed.ToDictionary(f => f, _ => new Dictionary<string, List<Dictionary<string, string>>>(StringComparer.OrdinalIgnoreCase), StringComparer.Ordinal);

        private readonly Dictionary<string, long> _order = new(StringComparer.Ordinal);
        private long _next;

        public HashSet<string> Columns { get; } = new(columns, StringComparer.Ordinal);
        public Dictionary<string, string> References { get; } = references;
        public HashSet<string> Journal { get; } = new(journal, StringComparer.Ordinal);
        public List<Dictionary<string, string>> Rows { get; } = [];
        public Dictionary<string, Dictionary<string, string>> ById { get; } = new(StringComparer.Ordinal);

        public void Add(Dictionary<string, string> record)
        {
            Rows.Add(record);
            ById[record["sys_id"]] = record;
            _order[record["sys_id"]] = _next++;
            foreach (var field in _indexes.Keys)
            {
                Index(record, field);
            }
        }

        public bool Remove(string sysId)
        {
            if (!ById.Remove(sysId, out var record))
            {
                return false;
            }

            Rows.Remove(record);
            _order.Remove(sysId);
            foreach (var field in _indexes.Keys)
            {
                Unindex(record, field);
            }

            return true;
        }

        public void Index(Dictionary<string, string> record, string field)
        {
            if (_indexes.TryGetValue(field, out var index))
            {
                var value = record.GetValueOrDefault(field) ?? string.Empty;
                if (!index.TryGetValue(value, out var rows))
                {
                    index[value] = rows = [];
                }

                rows.Add(record);
            }
        }

        public void Unindex(Dictionary<string, string> record, string field)
        {
            if (_indexes.TryGetValue(field, out var index) && index.TryGetValue(record.GetValueOrDefault(field) ?? string.Empty, out var rows))
            {
                rows.Remove(record);
            }
        }

        /// <summary>
        /// The rows a single-group query can match, from an index on a condition every match must meet
        /// (<c>field=value</c> or <c>fieldINa,b</c> on its own in an AND clause); null when no index applies.
        /// </summary>
        public IEnumerable<Dictionary<string, string>>? Candidates(EncodedQuery query)
        {
            if (query.Groups.Count != 1)
            {
                return null;
            }

            foreach (var clause in query.Groups[0])
            {
                if (clause.Count == 1 && clause[0] is { Operator: "=" or "IN" } condition && _indexes.TryGetValue(condition.Field, out var index))
                {
                    var values = condition.Operator == "=" ? [condition.Value] : condition.Value.Split(',');
                    return values.Distinct(StringComparer.OrdinalIgnoreCase)
                        .SelectMany(v => index.TryGetValue(v, out var rows) ? rows : [])
                        .OrderBy(r => _order[r["sys_id"]])
                        .ToList();
                }
            }

            return null;
        }
    }
}
