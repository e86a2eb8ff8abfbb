using System.Globalization;
using System.Text;

namespace IamFulfillment.Sandbox.Jira;

/// <summary>
/// The subset of JQL the sandbox's search understands: clauses joined by <c>AND</c> — <c>updated &gt;= "-5m"</c>
/// (also <c>h</c>, <c>d</c>, <c>w</c>; relative to the sandbox clock), <c>statusCategory = Done</c> and
/// <c>!= Done</c> (by name, key or id), <c>project = KEY</c>, in balanced parentheses or not — and an optional
/// <c>ORDER BY updated ASC|DESC</c>.
/// Keywords and field names are case-insensitive, values may be quoted. Anything else is refused rather than
/// ignored: a clause dropped in silence would make the sandbox find more than Jira does.
/// </summary>
internal sealed class JiraJql
{
    /// <summary>What Jira answers on the enhanced search for a query without any restriction.</summary>
    public const string Unbounded = "Unbounded JQL queries are not allowed here. Please add a search restriction to your query.";

    private static readonly Dictionary<string, string> CategoryKeys = new(StringComparer.OrdinalIgnoreCase)
    {
        ["new"] = "new", ["To Do"] = "new", ["2"] = "new",
        ["indeterminate"] = "indeterminate", ["In Progress"] = "indeterminate", ["4"] = "indeterminate",
        ["done"] = "done", ["3"] = "done",
    };

    private readonly List<Func<Candidate, bool>> _clauses = [];

    private JiraJql()
    {
    }

    /// <summary>True for <c>ORDER BY updated DESC</c>; no ORDER BY sorts by creation, newest first.</summary>
    public bool? UpdatedDescending { get; private set; }

    /// <summary>An issue as a clause sees it: its last update, its status category key, its project key.</summary>
    public sealed record Candidate(DateTimeOffset Updated, string StatusCategoryKey, string ProjectKey);

    public bool Matches(Candidate issue) => _clauses.TrueForAll(c => c(issue));

    /// <summary>Parses <paramref name="text"/>; <paramref name="error"/> is Jira's kind of message when it cannot.</summary>
    public static bool TryParse(string? text, DateTimeOffset now, IReadOnlyCollection<string> projectKeys, out JiraJql query, out string? error)
    {
        query = new JiraJql();
        error = null;
        if (!Tokenize(text ?? "", out var tokens, out error))
        {
            return false;
        }

        var at = 0;
        while (at < tokens.Count && !IsWord(tokens[at], "ORDER"))
        {
            if (query._clauses.Count > 0)
            {
                if (!IsWord(tokens[at], "AND"))
                {
                    error = Expecting("AND or ORDER BY", tokens[at]);
                    return false;
                }

                at++;
            }

            if (at + 3 > tokens.Count)
            {
                error = "Error in the JQL Query: Expecting a field, an operator and a value at the end of the query.";
                return false;
            }

            var (field, op, value) = (tokens[at], tokens[at + 1], tokens[at + 2]);
            at += 3;
            if (field.Quoted || op.Quoted || !IsOperator(op.Text))
            {
                error = Expecting("a field followed by an operator", op);
                return false;
            }

            var clause = Clause(field.Text, op.Text, value, now, projectKeys, out error);
            if (clause is null)
            {
                return false;
            }

            query._clauses.Add(clause);
        }

        if (at < tokens.Count && !ParseOrderBy(tokens, at, query, out error))
        {
            return false;
        }

        if (query._clauses.Count == 0)
        {
            error = Unbounded;
            return false;
        }

        return true;
    }

    private static Func<Candidate, bool>? Clause(string field, string op, Token value, DateTimeOffset now, IReadOnlyCollection<string> projectKeys, out string? error)
    {
        error = null;
        switch (field.ToLowerInvariant())
        {
            case "updated" or "updateddate":
                if (op != ">=")
                {
                    error = $"The sandbox supports only the operator '>=' with the field '{field}' (found '{op}').";
                    return null;
                }

                if (RelativeTime(value.Text) is not { } ago)
                {
                    error = $"The sandbox supports only relative dates such as \"-5m\", \"-2h\" or \"-1d\" for the field '{field}' (found '{value.Text}').";
                    return null;
                }

                var from = now - ago;
                return issue => issue.Updated >= from;

            case "statuscategory":
                if (op is not ("=" or "!="))
                {
                    error = $"The operator '{op}' is not supported by the 'statusCategory' field.";
                    return null;
                }

                if (!CategoryKeys.TryGetValue(value.Text, out var key))
                {
                    error = $"The value '{value.Text}' does not exist for the field 'statusCategory'.";
                    return null;
                }

                return op == "=" ? issue => issue.StatusCategoryKey == key : issue => issue.StatusCategoryKey != key;

            case "project":
                if (op != "=")
                {
                    error = $"The sandbox supports only the operator '=' with the field 'project' (found '{op}').";
                    return null;
                }

                if (projectKeys.FirstOrDefault(k => string.Equals(k, value.Text, StringComparison.OrdinalIgnoreCase)) is not { } project)
                {
                    error = $"The value '{value.Text}' does not exist for the field 'project'.";
                    return null;
                }

                return issue => issue.ProjectKey == project;

            default:
                error = $"Field '{field}' does not exist or you do not have permission to view it (the sandbox knows updated, statusCategory and project).";
                return null;
        }
    }

    private static bool ParseOrderBy(List<Token> tokens, int at, JiraJql query, out string? error)
    {
        error = null;
        if (at + 2 > tokens.Count || !IsWord(tokens[at + 1], "BY"))
        {
            error = Expecting("BY after ORDER", at + 1 < tokens.Count ? tokens[at + 1] : null);
            return false;
        }

        at += 2;
        if (at >= tokens.Count || !string.Equals(tokens[at].Text, "updated", StringComparison.OrdinalIgnoreCase))
        {
            error = $"The sandbox can order only by 'updated' (found '{(at < tokens.Count ? tokens[at].Text : "")}').";
            return false;
        }

        at++;
        var descending = false;
        if (at < tokens.Count && (IsWord(tokens[at], "ASC") || IsWord(tokens[at], "DESC")))
        {
            descending = IsWord(tokens[at], "DESC");
            at++;
        }

        if (at < tokens.Count)
        {
            error = Expecting("the end of the query", tokens[at]);
            return false;
        }

        query.UpdatedDescending = descending;
        return true;
    }

    /// <summary>"-5m", "-2h", "-1d", "-1w" (quoted or not): how long before now, at most a century.</summary>
    private static TimeSpan? RelativeTime(string text)
    {
        if (text.Length < 3 || text[0] != '-'
            || !long.TryParse(text.AsSpan(1, text.Length - 2), NumberStyles.None, CultureInfo.InvariantCulture, out var amount) || amount > 100_000_000)
        {
            return null;
        }

        long? minutes = char.ToLowerInvariant(text[^1]) switch
        {
            'm' => amount,
            'h' => amount * 60,
            'd' => amount * 60 * 24,
            'w' => amount * 60 * 24 * 7,
            _ => null,
        };
        return minutes is { } m ? TimeSpan.FromMinutes(Math.Min(m, 100L * 366 * 24 * 60)) : null;
    }

    private static bool Tokenize(string text, out List<Token> tokens, out string? error)
    {
        tokens = [];
        error = null;
        var i = 0;
        var depth = 0;
        while (i < text.Length)
        {
            var c = text[i];
            if (char.IsWhiteSpace(c))
            {
                i++;
            }
            else if (c is '"' or '\'')
            {
                var value = new StringBuilder();
                var start = i++;
                while (i < text.Length && text[i] != c)
                {
                    if (text[i] == '\\' && i + 1 < text.Length)
                    {
                        i++;
                    }

                    value.Append(text[i++]);
                }

                if (i >= text.Length)
                {
                    error = $"Error in the JQL Query: The quoted string starting at character {start.ToString(CultureInfo.InvariantCulture)} has not been completed.";
                    return false;
                }

                i++;
                tokens.Add(new Token(value.ToString(), Quoted: true));
            }
            else if (c is '!' or '>' or '<' or '=' or '~')
            {
                var length = i + 1 < text.Length && text[i + 1] is '=' or '~' && c is not ('=' or '~') ? 2 : 1;
                tokens.Add(new Token(text.Substring(i, length), Quoted: false));
                i += length;
            }
            else if (c is '(' or ')')
            {
                // Only AND is understood, and grouping an AND of clauses changes nothing, so a balanced group is read
                // through (lists and functions still fail: on the comma, or on a clause without an operator).
                depth += c == '(' ? 1 : -1;
                if (depth < 0)
                {
                    error = "Error in the JQL Query: Expecting either 'OR' or 'AND' but got ')'.";
                    return false;
                }

                i++;
            }
            else if (c == ',')
            {
                error = $"Error in the JQL Query: The sandbox does not support '{c}' (lists and functions).";
                return false;
            }
            else
            {
                var start = i;
                while (i < text.Length && !char.IsWhiteSpace(text[i]) && text[i] is not ('"' or '\'' or '!' or '>' or '<' or '=' or '~' or '(' or ')' or ','))
                {
                    i++;
                }

                tokens.Add(new Token(text[start..i], Quoted: false));
            }
        }

        if (depth != 0)
        {
            error = "Error in the JQL Query: Expecting ')' before the end of the query.";
            return false;
        }

        return true;
    }

    private static bool IsOperator(string text) => text is "=" or "!=" or ">=" or "<=" or ">" or "<" or "~" or "!~";

    private static bool IsWord(Token token, string word) => !token.Quoted && string.Equals(token.Text, word, StringComparison.OrdinalIgnoreCase);

    private static string Expecting(string what, Token? found) =>
        $"Error in the JQL Query: Expecting {what} but got '{found?.Text ?? "the end of the query"}'.";

    private sealed record Token(string Text, bool Quoted);
}
