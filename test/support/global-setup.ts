// Placeholder until the stack module lands: the integration project brings up one shared
// local stack per run here (see stack/).
export default async function globalSetup(): Promise<void> {}
