namespace IamFulfillment.Sandbox.ServiceNow;

/// <summary>
/// The subset of ServiceNow encoded queries the sandbox understands: conditions joined by <c>^</c> (AND) and
/// <c>^OR</c> (OR, binding only to the condition before it), <c>^NQ</c> groups, <c>ORDERBY</c>/<c>ORDERBYDESC</c>,
/// and the operators <c>= != IN NOT IN LIKE NOT LIKE STARTSWITH ENDSWITH ISEMPTY ISNOTEMPTY &lt; &lt;= &gt; &gt;=</c>.
/// Field names may be dot-walked. Conditions the sandbox cannot read are reported in <see cref="Invalid"/> and
/// ignored, as a real instance does by default (glide.invalid_query.returns_no_rows=false).
/// </summary>
public sealed class EncodedQuery
{
    private static readonly string[] Operators =
    [
        "ISNOTEMPTY", "ISEMPTY", "NOT IN", "NOTIN", "NOT LIKE", "NOTLIKE", "STARTSWITH", "ENDSWITH", "LIKE", "IN",
        "!=", ">=", "<=", "=", ">", "<",
    ];

    private EncodedQuery()
    {
    }

    /// <summary>OR of groups (^NQ); each group is an AND of clauses; each clause an OR of conditions.</summary>
    public IReadOnlyList<IReadOnlyList<IReadOnlyList<Condition>>> Groups { get; private set; } = [];

    public IReadOnlyList<(string Field, bool Descending)> OrderBy { get; private set; } = [];

    /// <summary>Terms that could not be parsed (ignored).</summary>
    public IReadOnlyList<string> Invalid { get; private set; } = [];

    public sealed record Condition(string Field, string Operator, string Value);

    public static EncodedQuery Parse(string? text)
    {
        var query = new EncodedQuery();
        if (string.IsNullOrEmpty(text))
        {
            return query;
        }

        var groups = new List<IReadOnlyList<IReadOnlyList<Condition>>>();
        var order = new List<(string, bool)>();
        var invalid = new List<string>();
        foreach (var groupText in text.Split("^NQ", StringSplitOptions.None))
        {
            var clauses = new List<List<Condition>>();
            foreach (var term in groupText.Split('^'))
            {
                if (term.Length == 0 || term == "EQ")
                {
                    continue;
                }

                if (term.StartsWith("ORDERBYDESC", StringComparison.Ordinal))
                {
                    order.Add((term["ORDERBYDESC".Length..], true));
                    continue;
                }

                if (term.StartsWith("ORDERBY", StringComparison.Ordinal))
                {
                    order.Add((term["ORDERBY".Length..], false));
                    continue;
                }

                var isOr = term.StartsWith("OR", StringComparison.Ordinal);
                var conditionText = isOr ? term[2..] : term;
                var condition = ParseCondition(conditionText);
                if (condition is null)
                {
                    invalid.Add(term);
                    continue;
                }

                if (isOr && clauses.Count > 0)
                {
                    clauses[^1].Add(condition);
                }
                else
                {
                    clauses.Add([condition]);
                }
            }

            groups.Add(clauses);
        }

        query.Groups = groups;
        query.OrderBy = order;
        query.Invalid = invalid;
        return query;
    }

    private static Condition? ParseCondition(string text)
    {
        var end = 0;
        while (end < text.Length && (char.IsAsciiLetterLower(text[end]) || char.IsAsciiDigit(text[end]) || text[end] is '_' or '.'))
        {
            end++;
        }

        if (end == 0)
        {
            return null;
        }

        var field = text[..end];
        var rest = text[end..];
        foreach (var op in Operators)
        {
            if (rest.StartsWith(op, StringComparison.Ordinal))
            {
                var value = rest[op.Length..];
                if (op is "ISEMPTY" or "ISNOTEMPTY" && value.Length > 0)
                {
                    return null;
                }

                return new Condition(field, op.Replace(" ", "", StringComparison.Ordinal), value);
            }
        }

        return null;
    }

    /// <summary>Whether a record matches; <paramref name="valueOf"/> resolves (dot-walked) field names, null for unknown fields.</summary>
    public bool Matches(Func<string, string?> valueOf, Func<string, bool> isKnownField)
    {
        if (Groups.Count == 0)
        {
            return true;
        }

        foreach (var group in Groups)
        {
            var all = true;
            foreach (var clause in group)
            {
                var usable = clause.Where(c => isKnownField(c.Field)).ToList();
                if (usable.Count == 0)
                {
                    continue; // an unknown field is ignored, like the platform does by default
                }

                if (!usable.Any(c => Evaluate(c, valueOf(c.Field) ?? string.Empty)))
                {
                    all = false;
                    break;
                }
            }

            if (all)
            {
                return true;
            }
        }

        return false;
    }

    private static bool Evaluate(Condition c, string actual)
    {
        const StringComparison Cmp = StringComparison.OrdinalIgnoreCase;
        return c.Operator switch
        {
            "=" => string.Equals(actual, c.Value, Cmp),
            "!=" => !string.Equals(actual, c.Value, Cmp),
            "IN" => c.Value.Split(',').Any(v => string.Equals(actual, v, Cmp)),
            "NOTIN" => !c.Value.Split(',').Any(v => string.Equals(actual, v, Cmp)),
            "LIKE" => actual.Contains(c.Value, Cmp),
            "NOTLIKE" => !actual.Contains(c.Value, Cmp),
            "STARTSWITH" => actual.StartsWith(c.Value, Cmp),
            "ENDSWITH" => actual.EndsWith(c.Value, Cmp),
            "ISEMPTY" => actual.Length == 0,
            "ISNOTEMPTY" => actual.Length > 0,
            ">" => Compare(actual, c.Value) > 0,
            ">=" => Compare(actual, c.Value) >= 0,
            "<" => Compare(actual, c.Value) < 0,
            "<=" => Compare(actual, c.Value) <= 0,
            _ => false,
        };
    }

    /// <summary>Numbers compare as numbers; everything else (including yyyy-MM-dd HH:mm:ss times) as text.</summary>
    public static int Compare(string a, string b)
    {
        if (decimal.TryParse(a, System.Globalization.NumberStyles.Number, System.Globalization.CultureInfo.InvariantCulture, out var x)
            && decimal.TryParse(b, System.Globalization.NumberStyles.Number, System.Globalization.CultureInfo.InvariantCulture, out var y))
        {
            return x.CompareTo(y);
        }

        return string.CompareOrdinal(a, b);
    }
}
