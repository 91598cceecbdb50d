/**
 * dcmjs-dimse and dcmjs log to the console by default, and their messages can quote element
 * values (patient data): networking code imports this first, and they stay silent.
 */
import dcmjs from 'dcmjs';
import dimse from 'dcmjs-dimse';

dimse.log.setLevel('silent');
dcmjs.log.setLevel('silent');

export { dimse };
