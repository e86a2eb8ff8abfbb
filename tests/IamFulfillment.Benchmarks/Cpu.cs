using System.Diagnostics;
using System.Globalization;

namespace IamFulfillment.Benchmarks;

/// <summary>CPU time used by the processes of a run, so per-ticket costs can be told apart from waiting on a busy machine.</summary>
public readonly record struct CpuTimes(TimeSpan Host, TimeSpan Azurite, TimeSpan Sandboxes)
{
    public static CpuTimes operator -(CpuTimes a, CpuTimes b) => new(a.Host - b.Host, a.Azurite - b.Azurite, a.Sandboxes - b.Sandboxes);

    public static CpuTimes Read(int hostPid, int? azuritePid) =>
        new(ProcessCpu(hostPid), azuritePid is { } pid ? ProcessCpu(pid) : TimeSpan.Zero, Process.GetCurrentProcess().TotalProcessorTime);

    /// <summary>utime + stime of a process (and its reaped children) from /proc, in clock ticks of 10 ms.</summary>
    public static TimeSpan ProcessCpu(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
            return TimeSpan.FromMilliseconds(ticks * 10);
        }
        catch (IOException)
        {
            return TimeSpan.Zero;
        }
    }

    /// <summary>CPU used so far by the threads of <paramref name="pid"/> whose name starts with <paramref name="namePrefix"/> (e.g. the runtime's JIT thread).</summary>
    public static TimeSpan ThreadCpu(int pid, string namePrefix)
    {
        var ticks = 0L;
        try
        {
            foreach (var task in Directory.EnumerateDirectories($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/task"))
            {
                try
                {
                    if (!File.ReadAllText(Path.Combine(task, "comm")).StartsWith(namePrefix, StringComparison.Ordinal))
                    {
                        continue;
                    }

                    var stat = File.ReadAllText(Path.Combine(task, "stat"));
                    var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                    ticks += long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
                }
                catch (IOException)
                {
                    // The thread ended meanwhile.
                }
            }
        }
        catch (IOException)
        {
            return TimeSpan.Zero;
        }

        return TimeSpan.FromMilliseconds(ticks * 10);
    }

    /// <summary>The node process serving Azurite's table endpoint on <paramref name="tablePort"/>.</summary>
    public static int? FindAzurite(int tablePort)
    {
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }

            try
            {
                var args = File.ReadAllText(Path.Combine(dir, "cmdline")).Split('\0');
                var at = Array.IndexOf(args, "--tablePort");
                if (args.Any(a => a.Contains("azurite", StringComparison.OrdinalIgnoreCase)) && at >= 0 && at + 1 < args.Length
                    && args[at + 1] == tablePort.ToString(CultureInfo.InvariantCulture))
                {
                    return pid;
                }
            }
            catch (IOException)
            {
                // Gone meanwhile.
            }
            catch (UnauthorizedAccessException)
            {
                // Not ours.
            }
        }

        return null;
    }
}
