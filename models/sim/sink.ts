import { TelemetryTopic, TopicRecords } from '../../schemas/types';

type Draft<T extends TelemetryTopic> = Omit<TopicRecords[T], 'eventId'>;

export interface DraftRecord {
  topic: TelemetryTopic;
  key: string;
  value: Draft<TelemetryTopic>;
}

/** Collects records as the generators produce them; ids are given after the time sort. */
export class Sink {
  readonly drafts: DraftRecord[] = [];
  constructor(private readonly end: number) {}

  add<T extends TelemetryTopic>(topic: T, key: string, value: Draft<T>): void {
    if (value.timestamp >= this.end) return;
    this.drafts.push({ topic, key, value });
  }
}
