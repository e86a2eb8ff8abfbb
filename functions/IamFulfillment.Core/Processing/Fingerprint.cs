using System.Security.Cryptography;
using System.Text;
using IamFulfillment.Core.Model;

namespace IamFulfillment.Core.Processing;

/// <summary>
/// A round is one evaluation of one version of a ticket's material inputs (fields, people, approvals). Its id is
/// a hash of those inputs: a duplicate or concurrent delivery finds the same round and does nothing twice; a
/// requester's update or a new approval makes a new round.
/// </summary>
public static class Fingerprint
{
    public static string RoundId(TicketSnapshot ticket, int reopened)
    {
        var text = new StringBuilder()
            .Append(ticket.Ref.StorageKey).Append('|').Append(ticket.CatalogItem).Append('|').Append(reopened).Append('|');
        foreach (var field in ticket.Fields.OrderBy(f => f.Key, StringComparer.Ordinal))
        {
            text.Append(field.Key).Append('=').Append(field.Value).Append(';');
        }

        foreach (var person in ticket.People.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            text.Append(person.Key).Append('@').Append(person.Value.ItsmId).Append(';');
        }

        text.Append("opened@").Append(ticket.OpenedBy?.ItsmId).Append(';');
        foreach (var approval in ticket.Approvals.OrderBy(a => a.Id, StringComparer.Ordinal))
        {
            text.Append(approval.Id).Append(':').Append(approval.State).Append(':')
                .Append(approval.DecidedAt?.ToUnixTimeSeconds()).Append(':').Append(approval.ActedBy?.ItsmId).Append(';');
        }

        return "r" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())))[..20];
    }
}
