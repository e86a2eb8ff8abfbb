using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace IamFulfillment.Connectors.Jira;

/// <summary>
/// What the internal note was sent together with, on the line above its marker, e.g.
/// <c>Sent with this note: the customer comment, the transition to "Resolved" (earlier moves there by the service: 0).</c>
/// The note goes out in the same parallel wave as the other parts of the write-back, so its presence alone no longer
/// proves they landed: this line says which parts to look for before the write-back counts as done. A note without
/// the line was written after everything else (notes of earlier versions, a note sent alone or after a transition
/// whose target Jira did not name), so the note alone stands for the whole write-back.
/// </summary>
/// <param name="CustomerComment">The customer comment with the same marker was sent with the note.</param>
/// <param name="TargetStatus">The status the transition sent with the note leads to; null when none was sent.</param>
/// <param name="EarlierMoves">
/// How many status changes to <paramref name="TargetStatus"/> by the integration account the write-back's read saw in
/// the changelog: one more since then is this transition, even when a person has moved the ticket on since. Counted,
/// not compared by changelog id, because Jira does not document that its ids grow; its changelog is only added to.
/// </param>
/// <param name="QueueFields">Escalation queue fields were set with the note (a read cannot confirm them).</param>
internal sealed partial record JiraNoteRecord(bool CustomerComment, string? TargetStatus, int? EarlierMoves, bool QueueFields)
{
    private const string Prefix = "Sent with this note: ";

    /// <summary>A line that starts like a record but cannot be read: trusted for nothing, so the write-back is resumed.</summary>
    public static JiraNoteRecord Unreadable { get; } = new(false, null, null, false) { IsReadable = false };

    public bool IsReadable { get; private init; } = true;

    /// <summary>Nothing was sent with the note: it needs no line.</summary>
    public bool IsEmpty => !CustomerComment && TargetStatus is null && !QueueFields;

    /// <summary>The line as plain text (the comment body neutralises it like the text above it).</summary>
    public string Line()
    {
        var parts = new List<string>(3);
        if (CustomerComment)
        {
            parts.Add("the customer comment");
        }

        if (TargetStatus is not null)
        {
            parts.Add(EarlierMoves is { } earlier
                ? $"the transition to \"{TargetStatus}\" (earlier moves there by the service: {earlier.ToString(CultureInfo.InvariantCulture)})"
                : $"the transition to \"{TargetStatus}\"");
        }

        if (QueueFields)
        {
            parts.Add("the queue fields");
        }

        return Prefix + string.Join(", ", parts) + ".";
    }

    /// <summary>
    /// The record in the line above a note's marker line, as stored (wiki-escaped or not): null when that line is no
    /// record, <see cref="Unreadable"/> when it starts like one but does not parse.
    /// </summary>
    public static JiraNoteRecord? Parse(string storedLine)
    {
        var line = Unescape(storedLine).Trim();
        if (!line.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        // Each part ends with ", " once the closing full stop is turned into one, so the status may hold any text.
        var match = Parts().Match(line.EndsWith('.') ? string.Concat(line.AsSpan(Prefix.Length, line.Length - Prefix.Length - 1), ", ") : "");
        if (!match.Success || match.Length == 0)
        {
            return Unreadable;
        }

        var status = match.Groups["status"];
        var earlier = match.Groups["earlier"];
        return new JiraNoteRecord(
            match.Groups["comment"].Success,
            status.Success ? status.Value : null,
            earlier.Success && int.TryParse(earlier.Value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : null,
            match.Groups["fields"].Success);
    }

    /// <summary>Undoes the wiki escaping (a backslash takes the next character as it is; the zero-width space that breaks links goes).</summary>
    internal static string Unescape(string stored)
    {
        var plain = new StringBuilder(stored.Length);
        for (var i = 0; i < stored.Length; i++)
        {
            if (stored[i] == '\\' && i + 1 < stored.Length)
            {
                i++;
            }

            if (stored[i] != '\u200B')
            {
                plain.Append(stored[i]);
            }
        }

        return plain.ToString();
    }

    [GeneratedRegex("""^(?<comment>the customer comment, )?(?:the transition to "(?<status>.+)"(?: \(earlier moves there by the service: (?<earlier>\d{1,9})\))?, )?(?<fields>the queue fields, )?$""",
        RegexOptions.CultureInvariant | RegexOptions.IgnoreCase)]
    private static partial Regex Parts();
}
