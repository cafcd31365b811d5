using System.Diagnostics.Metrics;

namespace Storage;

/// <summary>
/// The names under which the store publishes its metrics. Subscribe with OpenTelemetry's
/// <c>AddMeter(StorageTelemetry.MeterName)</c> or any <see cref="MeterListener"/>.
/// </summary>
public static class StorageTelemetry
{
    /// <summary>The meter's name: <c>Storage</c>.</summary>
    public const string MeterName = "Storage";

    private static readonly Meter Meter = new(MeterName);

    internal static readonly Counter<long> Queued = Meter.CreateCounter<long>("storage.writer.queued", "{completion}", "Completions queued in a buffered writer.");
    internal static readonly Counter<long> Written = Meter.CreateCounter<long>("storage.writer.written", "{completion}", "Completions a buffered writer flushed (stored or already stored).");
    internal static readonly Counter<long> Dropped = Meter.CreateCounter<long>("storage.writer.dropped", "{completion}", "Completions dropped because a buffered writer was full.");
    internal static readonly Counter<long> Rejected = Meter.CreateCounter<long>("storage.writer.rejected", "{completion}", "Completions a buffered writer could not store because they were invalid.");
    internal static readonly Counter<long> Failed = Meter.CreateCounter<long>("storage.writer.failed", "{completion}", "Completions a buffered writer gave up on after database failures.");
    internal static readonly Histogram<double> FlushDuration = Meter.CreateHistogram<double>("storage.writer.flush.duration", "ms", "How long a buffered writer's flush took.");
}
