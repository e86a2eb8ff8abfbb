using System.Text;
using System.Text.RegularExpressions;

namespace IamFulfillment.Core.Text;

/// <summary>
/// Neutralises text for the markup of the ticket system it is written to, so nothing copied from a ticket can
/// inject markup, HTML or links into the note an admin reads.
/// </summary>
public static partial class Markup
{
    /// <summary>
    /// ServiceNow journal fields show plain text, except that <c>[code]…[/code]</c> renders raw HTML. Those tags
    /// are defused, and angle brackets are replaced by lookalikes so no HTML survives even inside them.
    /// </summary>
    public static string ForServiceNowJournal(string text)
    {
        var withoutCode = CodeTag().Replace(text, m => m.Value.Replace("[", "(", StringComparison.Ordinal).Replace("]", ")", StringComparison.Ordinal));
        return withoutCode.Replace("<", "‹", StringComparison.Ordinal).Replace(">", "›", StringComparison.Ordinal);
    }

    /// <summary>
    /// Jira wiki markup (the service desk comment body): every markup character is backslash-escaped, URL schemes
    /// are broken with a zero-width space so no link is made, and block markup that works by position (a line
    /// starting "h1." … "h6." or "bq.") is moved off the line start with a zero-width space, since a backslash
    /// before a letter is no escape there.
    /// </summary>
    public static string ForJiraWiki(string text)
    {
        var builder = new StringBuilder(text.Length + 16);
        foreach (var c in text)
        {
            if ("\\{}[]*_?-+^~|!#()".Contains(c, StringComparison.Ordinal))
            {
                builder.Append('\\');
            }

            builder.Append(c);
        }

        var unlinked = UrlScheme().Replace(builder.ToString(), m => m.Groups[1].Value + "\u200B:");
        return LineStartBlock().Replace(unlinked, m => m.Groups[1].Value + "\u200B" + m.Groups[2].Value);
    }

    /// <summary>Removes control characters (other than new lines and tabs) and caps the length of text copied from a ticket.</summary>
    public static string Clean(string? text, int maxLength = 500)
    {
        if (string.IsNullOrEmpty(text))
        {
            return string.Empty;
        }

        var builder = new StringBuilder(Math.Min(text.Length, maxLength));
        foreach (var c in text)
        {
            if (builder.Length >= maxLength)
            {
                builder.Append('…');
                break;
            }

            if (!char.IsControl(c) || c is '\n' or '\t')
            {
                builder.Append(c);
            }
        }

        return builder.ToString();
    }

    [GeneratedRegex(@"\[\s*/?\s*code\s*\]", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex CodeTag();

    [GeneratedRegex(@"\b([a-zA-Z][a-zA-Z0-9+.\-]{1,15}):(?=//)", RegexOptions.CultureInvariant)]
    private static partial Regex UrlScheme();

    [GeneratedRegex(@"^([ \t]*)(h[1-6]\.|bq\.)", RegexOptions.Multiline | RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex LineStartBlock();
}
