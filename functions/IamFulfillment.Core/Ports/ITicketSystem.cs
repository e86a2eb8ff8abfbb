using IamFulfillment.Core.Decisions;
using IamFulfillment.Core.Model;
using IamFulfillment.Core.Policy;

namespace IamFulfillment.Core.Ports;

/// <summary>A ticket system (ServiceNow, Jira Service Management) as the core needs it: read a ticket, write the result back.</summary>
public interface ITicketSystem
{
    TicketSystemKind Kind { get; }

    /// <summary>Reads the ticket, its approvals, the people on it and its material change history.</summary>
    /// <exception cref="TicketNotFoundException">The ticket does not exist (or the integration user cannot see it).</exception>
    Task<TicketSnapshot> ReadAsync(string key, CancellationToken cancellationToken);

    /// <summary>
    /// Reads the ticket and reports the people it names as soon as they are known (before approvals and history
    /// are in), so the directory lookups overlap the rest of the read instead of waiting for it.
    /// </summary>
    Task<TicketSnapshot> ReadAsync(string key, ReadProgress? progress, CancellationToken cancellationToken) => ReadAsync(key, cancellationToken);

    /// <summary>Writes comment, note, state and assignment, in as few calls as the system allows.</summary>
    /// <returns>What was written, so a later change by a person can be told apart from the service's own.</returns>
    Task<WriteBackReceipt> WriteBackAsync(TicketSnapshot ticket, WriteBack writeBack, CancellationToken cancellationToken);

    /// <summary>
    /// Whether the ticket already shows the whole write-back carrying <paramref name="marker"/> (a write whose response
    /// was lost). A connector that writes in several calls must answer true only once every part is there.
    /// </summary>
    Task<bool> ShowsMarkerAsync(TicketSnapshot ticket, string marker, CancellationToken cancellationToken);

    /// <summary>
    /// Open tickets changed at or after <paramref name="since"/> by someone other than this service, as far as the
    /// system can tell from a search, oldest change first, at most <paramref name="max"/>: what reconciliation looks
    /// at for webhooks that never arrived. A system that cannot tell who changed a ticket returns it all the same.
    /// <see cref="ChangedTickets.More"/> says that changes after the last one returned may have been left out.
    /// </summary>
    Task<ChangedTickets> FindChangedAsync(DateTimeOffset since, int max, CancellationToken cancellationToken);

    /// <summary>
    /// True when the ticket shows that this service's own write-back closed it (its transition landed, so a write-back
    /// that broke off half-way is to be finished, not skipped). False when a person closed it, and always for a
    /// write-back that is one call: one that does not show its marker left nothing on the ticket.
    /// </summary>
    bool ClosedByOwnWriteBack(TicketSnapshot ticket) => false;
}

/// <summary>
/// What to write to a ticket. Texts are plain text; the connector neutralises them for its markup.
/// <see cref="Marker"/> is appended to each text so a lost response can be detected before writing again.
/// </summary>
public sealed record WriteBack
{
    public required Outcome Outcome { get; init; }
    public string? CustomerComment { get; init; }
    public string? InternalNote { get; init; }
    public required string Marker { get; init; }
    public EscalationQueue? Queue { get; init; }

    /// <summary>False for dry-run notes and interim notes: the ticket's state stays as it is.</summary>
    public bool ChangeState { get; init; } = true;

    /// <summary>
    /// An earlier attempt of this write-back (same <see cref="Marker"/>) was sent and may have reached the ticket in
    /// part: write only what the ticket does not show yet, so nothing appears twice.
    /// </summary>
    public bool Resume { get; init; }
}

/// <summary>Early news from a ticket read in progress.</summary>
public class ReadProgress
{
    /// <summary>
    /// Called once, as soon as the ticket's own record is read: who it is for, who opened it, and other people
    /// known so far (approvers on the item).
    /// </summary>
    public virtual void PeopleKnown(ItsmPerson? requestedFor, ItsmPerson? openedBy, IReadOnlyCollection<ItsmPerson> others)
    {
    }

    /// <summary>
    /// Called once, with the ticket's text fields (normalised names, <see cref="RequestFields"/>) as soon as they are
    /// read, before the rest of the read (approvals, history, people in reference fields) is in.
    /// </summary>
    public virtual void FieldsKnown(IReadOnlyDictionary<string, string?> fields)
    {
    }

    /// <summary>
    /// Called once the read is complete, before the snapshot is returned: everything the run will look up is known
    /// now (people resolved from reference fields too), and the run may still be waiting for its lease.
    /// </summary>
    public virtual void Completed(TicketSnapshot snapshot)
    {
    }
}

/// <summary>A ticket a search found changed: its key, when it last changed, and (Jira) where it was raised.</summary>
/// <param name="ServiceDeskId">The service desk (Jira), for the same scope intake applies; null where the system has none.</param>
/// <param name="RequestTypeId">The request type (Jira); null where the system has none.</param>
public sealed record TicketChange(string Key, DateTimeOffset ChangedAt, string? ServiceDeskId = null, string? RequestTypeId = null);

/// <summary>What a search for changed tickets found, oldest change first, and whether it stopped short of the rest.</summary>
public sealed class ChangedTickets(IReadOnlyList<TicketChange> changes, bool more) : IReadOnlyList<TicketChange>
{
    public static readonly ChangedTickets None = new([], more: false);

    /// <summary>Changes after the last one returned may exist (a page or list limit was reached): search again from it.</summary>
    public bool More { get; } = more;

    public int Count => changes.Count;

    public TicketChange this[int index] => changes[index];

    public IEnumerator<TicketChange> GetEnumerator() => changes.GetEnumerator();

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
}

/// <summary>The ITSM state value the write-back set (null when the state was left as it was).</summary>
public sealed record WriteBackReceipt(string? StateWritten);

public sealed class TicketNotFoundException(TicketRef ticket)
    : Exception($"Ticket {ticket} was not found or is not visible to the integration user.")
{
    public TicketRef Ticket { get; } = ticket;
}
