using System.Text.RegularExpressions;

namespace IamFulfillment.Connectors.ServiceNow;

/// <summary>
/// The only way text gets into an encoded query. Encoded queries cannot escape <c>^</c> (it always starts a new
/// term), a comma separates IN values, and a value starting with <c>javascript:</c> may be evaluated on the
/// instance; so sys_ids must be 32 hex characters, user names a plain set of characters, and any other value is
/// refused when it holds one of those.
/// </summary>
internal static partial class ServiceNowQuery
{
    public static bool IsSysId(string? value) => value is not null && SysIdPattern().IsMatch(value);

    /// <summary>A sys_id, checked before any call is made.</summary>
    /// <exception cref="ArgumentException">Not 32 hex characters.</exception>
    public static string SysId(string? value, string parameterName) =>
        IsSysId(value) ? value! : throw new ArgumentException("A ServiceNow sys_id is 32 hexadecimal characters.", parameterName);

    public static bool IsSafeUserName(string? value) => value is not null && UserNamePattern().IsMatch(value);

    /// <summary>A free-text value placed after an operator.</summary>
    /// <exception cref="ArgumentException">Empty, or holds <c>^</c>, a control character or <c>javascript:</c>.</exception>
    public static string Literal(string? value, string parameterName)
    {
        if (string.IsNullOrWhiteSpace(value) || value.Length > 500 || value.Trim().Length != value.Length)
        {
            throw new ArgumentException("The value must be 1 to 500 characters without leading or trailing spaces.", parameterName);
        }

        if (value.Contains('^', StringComparison.Ordinal) || value.Any(char.IsControl)
            || value.Contains("javascript", StringComparison.OrdinalIgnoreCase))
        {
            throw new ArgumentException("The value holds characters that cannot be used in a ServiceNow query (^, control characters or javascript).", parameterName);
        }

        return value;
    }

    /// <summary>An IN list of sys_ids.</summary>
    public static string SysIdList(IEnumerable<string> values) => string.Join(",", values.Select(v => SysId(v, nameof(values))).Distinct(StringComparer.OrdinalIgnoreCase));

    /// <summary>An IN list of user names.</summary>
    public static string UserNameList(IEnumerable<string> values) =>
        string.Join(",", values.Select(v => IsSafeUserName(v) ? v : throw new ArgumentException("Not a plain user name.", nameof(values))).Distinct(StringComparer.OrdinalIgnoreCase));

    [GeneratedRegex("^[0-9a-fA-F]{32}$", RegexOptions.CultureInvariant)]
    private static partial Regex SysIdPattern();

    [GeneratedRegex(@"^[A-Za-z0-9._@+\-]{1,100}$", RegexOptions.CultureInvariant)]
    private static partial Regex UserNamePattern();
}
