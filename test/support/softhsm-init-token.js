// Initialises a SoftHSM2 token from a separate process, as another program would. PINs come in
// through the environment, never argv. Usage: node softhsm-init-token.js <module> <label>
const graphene = require('graphene-pk11');
const [modulePath, label] = process.argv.slice(2);
const m = graphene.Module.load(modulePath, 'init');
m.initialize();
const slots = m.getSlots(false);
let free;
for (let i = 0; i < slots.length && !free; i++) {
  const s = slots.items(i);
  if (!(s.getToken().flags & graphene.TokenFlag.TOKEN_INITIALIZED)) free = s;
}
free.lib.C_InitToken(free.handle, process.env.HSM_SO_PIN, label);
const list = m.getSlots(true);
for (let i = 0; i < list.length; i++) {
  const s = list.items(i);
  if (s.getToken().label.trim() !== label) continue;
  const ses = s.open(graphene.SessionFlag.SERIAL_SESSION | graphene.SessionFlag.RW_SESSION);
  ses.login(process.env.HSM_SO_PIN, graphene.UserType.SO);
  ses.initPin(process.env.HSM_USER_PIN);
  ses.logout();
  ses.close();
}
m.finalize();
