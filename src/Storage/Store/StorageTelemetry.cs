using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Storage;

/// <summary>
/// The names under which the store publishes its metrics and traces. Subscribe with OpenTelemetry's
/// <c>AddMeter(StorageTelemetry.MeterName)</c> and <c>AddSource(StorageTelemetry.ActivitySourceName)</c>, or any
/// <see cref="MeterListener"/> and <see cref="ActivityListener"/>. Spans are named <c>storage.save</c>, <c>storage.get</c>,
/// <c>storage.list</c>, … (one per store operation) and <c>storage.writer.flush</c>; the SQL beneath them is traced by
/// Npgsql's own <c>Npgsql</c> source.
/// </summary>
public static class StorageTelemetry
{
    /// <summary>The meter's name: <c>Storage</c>.</summary>
    public const string MeterName = "Storage";

    /// <summary>The activity source's name: <c>Storage</c>.</summary>
    public const string ActivitySourceName = "Storage";

    private static readonly Meter Meter = new(MeterName);

    internal static readonly ActivitySource ActivitySource = new(ActivitySourceName);

    internal static readonly Counter<long> Queued = Meter.CreateCounter<long>("storage.writer.queued", "{completion}", "Completions queued in a buffered writer.");
    internal static readonly Counter<long> Written = Meter.CreateCounter<long>("storage.writer.written", "{completion}", "Completions a buffered writer flushed (stored or already stored).");
    internal static readonly Counter<long> Dropped = Meter.CreateCounter<long>("storage.writer.dropped", "{completion}", "Completions dropped because a buffered writer was full.");
    internal static readonly Counter<long> Rejected = Meter.CreateCounter<long>("storage.writer.rejected", "{completion}", "Completions a buffered writer could not store because they were invalid.");
    internal static readonly Counter<long> Failed = Meter.CreateCounter<long>("storage.writer.failed", "{completion}", "Completions a buffered writer gave up on after database failures.");
    internal static readonly Counter<double> Cost = Meter.CreateCounter<double>("storage.cost", "USD", "The cost of the completions stored, in US dollars, by model (tag model); unpriced completions add nothing.");
    internal static readonly Histogram<double> FlushDuration = Meter.CreateHistogram<double>("storage.writer.flush.duration", "ms", "How long a buffered writer's flush took.");
}
